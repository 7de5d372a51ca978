"""Entry script of the frozen app (PyInstaller needs a script, not a module path)."""

import multiprocessing

if __name__ == "__main__":
    # A frozen app that ever starts a process (a DataLoader worker, a spawned helper) must
    # answer the child's bootstrap instead of opening a second window.
    multiprocessing.freeze_support()
    from vlm_desktop.app import main

    raise SystemExit(main())
