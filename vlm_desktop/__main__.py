"""`python -m vlm_desktop` — same as the `vlm-desktop` command."""

from vlm_desktop.app import main

raise SystemExit(main())
