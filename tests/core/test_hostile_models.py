"""Issue #11, rows 1 and 2: model import never escapes its folder, never fills the disk,
and a refused or failed import leaves nothing behind, so a retry works."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import signal
import tarfile
import zipfile
from pathlib import Path

import pytest
from hf_fixtures import blip_folder, clip_folder

from tests.hostile import zip_of_zeros
from vlm_desktop import cli
from vlm_desktop.core import models
from vlm_desktop.core.model_files import ImportLimits

posix_only = pytest.mark.skipif(os.name != "posix", reason="links, FIFOs and rlimits are POSIX")
CAP = 128 << 20  # no test below may write a file larger than this


@contextlib.contextmanager
def file_size_cap(limit: int = CAP):
    """Make the OS refuse (EFBIG) any write past `limit` bytes in one file, for the block.

    This is how the tests see that a bomb is stopped *while* it unpacks: code that wrote
    first and checked after fails with OSError instead of the model manager's refusal.
    """
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    old = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, old)


def _model_copy(tmp_path: Path, name: str = "blip") -> Path:
    return Path(shutil.copytree(blip_folder(), tmp_path / "src" / name))


def _left_in_models_dir(home_dir: Path) -> list[str]:
    """What an import left in the models folder besides the model list."""
    folder = home_dir / "data" / "models"
    return sorted(p.name for p in folder.iterdir() if p.name != models.MANIFEST) \
        if folder.is_dir() else []


def _cli(*argv: str, capsys) -> tuple[int, str]:
    code = cli.main(["models", *argv])
    out, err = capsys.readouterr()
    return code, out + err


# --- row 1: links, special files, leftovers ------------------------------------------------


@posix_only
@pytest.mark.parametrize("target", ["/etc", "outside-dir", "outside-file"])
def test_a_link_out_of_the_folder_is_refused_naming_it_and_nothing_is_left(
        home_dir, tmp_path, target):
    folder = _model_copy(tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("not for the models folder")
    real = {"/etc": "/etc", "outside-dir": str(outside),
            "outside-file": str(outside / "secret.txt")}[target]
    os.symlink(real, folder / "extras")

    with file_size_cap(), pytest.raises(models.ModelFolderError) as info:
        models.import_model(folder, name="cap")

    assert "extras is a symbolic link" in str(info.value) and real in str(info.value)
    assert _left_in_models_dir(home_dir) == []
    assert models.list_models(include_builtin=False) == []
    (folder / "extras").unlink()
    assert models.import_model(folder, name="cap").name == "cap"  # the retry just works


@posix_only
@pytest.mark.timeout(60)
def test_a_link_to_dev_zero_is_refused_before_a_byte_is_copied(home_dir, tmp_path):
    folder = _model_copy(tmp_path)
    os.symlink("/dev/zero", folder / "notes.txt")

    with file_size_cap(), pytest.raises(models.ModelFolderError,
                                        match="notes.txt is a symbolic link \\(to /dev/zero\\)"):
        models.import_model(folder)

    assert _left_in_models_dir(home_dir) == []


@posix_only
@pytest.mark.timeout(60)
def test_a_fifo_in_the_folder_is_refused_without_hanging(home_dir, tmp_path):
    folder = _model_copy(tmp_path)
    os.mkfifo(folder / "pipe.json")

    with pytest.raises(models.ModelFolderError, match=r"pipe.json is a named pipe \(FIFO\)"):
        models.import_model(folder, name="cap")

    assert _left_in_models_dir(home_dir) == []
    (folder / "pipe.json").unlink()
    assert models.import_model(folder, name="cap").copied


@posix_only
@pytest.mark.timeout(60)
def test_a_fifo_given_as_the_model_is_refused(home_dir, tmp_path):
    pipe = tmp_path / "model.zip"
    os.mkfifo(pipe)
    with pytest.raises(models.ModelFolderError, match="not a folder or a file"):
        models.import_model(pipe)


def test_remove_agrees_with_what_is_on_disk(home_dir, tmp_path, capsys):
    # A folder in the models folder that no model list names (what a failed copy of an
    # earlier version left): importing under its name says how to clear it, and removing
    # it works, after which the import does.
    leftover = home_dir / "data" / "models" / "cap"
    shutil.copytree(blip_folder(), leftover)
    (leftover / "half-copied.bin").write_bytes(b"\0" * 100)

    code, text = _cli("import", str(blip_folder()), "--name", "cap", capsys=capsys)
    assert code == 2 and "models remove cap" in text
    code, text = _cli("remove", "cap", capsys=capsys)
    assert code == 0 and not leftover.exists()
    code, text = _cli("import", str(blip_folder()), "--name", "cap", capsys=capsys)
    assert code == 0 and (leftover / "config.json").is_file()
    assert not (leftover / "half-copied.bin").exists()


def test_an_unnamed_import_does_not_collide_with_a_leftover_folder(home_dir, tmp_path):
    folder = _model_copy(tmp_path, "blip")
    (home_dir / "data" / "models" / "blip").mkdir(parents=True)
    assert models.import_model(folder).name == "blip-2"


def test_a_copy_that_fails_half_way_leaves_nothing(home_dir, tmp_path):
    # The per-file cap is met only on the weights, after the small files were copied.
    folder = _model_copy(tmp_path)
    weights = (folder / "model.safetensors").stat().st_size
    limits = ImportLimits(max_file_bytes=weights - 1)
    with pytest.raises(models.ModelFolderError, match="model.safetensors is larger than"):
        models.import_model(folder, name="cap", limits=limits)
    assert _left_in_models_dir(home_dir) == []
    assert models.import_model(folder, name="cap").name == "cap"


@posix_only
def test_a_hugging_face_cache_snapshot_with_its_blob_links_is_copied(home_dir, tmp_path):
    repo = tmp_path / "hub" / "models--org--blip-tiny"
    snap = repo / "snapshots" / "abc123"
    (repo / "blobs").mkdir(parents=True)
    snap.mkdir(parents=True)
    for f in blip_folder().iterdir():
        blob = repo / "blobs" / f"sha-{f.name}"
        shutil.copyfile(f, blob)
        os.symlink(os.path.relpath(blob, snap), snap / f.name)

    rec = models.import_model(snap, name="cached")

    copied = Path(rec.path) / "model.safetensors"
    assert rec.copied and copied.is_file() and not copied.is_symlink()
    # ... but a snapshot link that leaves the repository is still refused.
    os.symlink("/etc/passwd", snap / "extra.txt")
    with pytest.raises(models.ModelFolderError, match="extra.txt is a symbolic link"):
        models.import_model(snap, name="cached2")


# --- row 2: archives -------------------------------------------------------------------------


def _small_files(folder: Path) -> dict[str, bytes]:
    return {f"m/{f.name}": f.read_bytes() for f in folder.iterdir()
            if f.name != "model.safetensors"}


@posix_only
@pytest.mark.timeout(120)
def test_a_zip_bomb_is_stopped_while_it_unpacks(home_dir, tmp_path):
    bomb = zip_of_zeros(tmp_path / "bomb.zip", 1 << 30, "m/model.safetensors",
                        extra=_small_files(blip_folder()))
    assert bomb.stat().st_size < 2 << 20  # 1 GiB of zeros in about 1 MB

    with file_size_cap(), pytest.raises(models.ModelFolderError, match="compression bomb"):
        models.import_model(bomb)

    assert _left_in_models_dir(home_dir) == []


@posix_only
@pytest.mark.timeout(120)
def test_a_tar_gz_bomb_is_stopped_while_it_unpacks(home_dir, tmp_path):
    bomb = tmp_path / "bomb.tar.gz"
    with tarfile.open(bomb, "w:gz") as tf:
        info = tarfile.TarInfo("m/model.safetensors")
        info.size = 512 << 20
        tf.addfile(info, _Zeros(info.size))

    with file_size_cap(), pytest.raises(models.ModelFolderError, match="compression bomb"):
        models.import_model(bomb)

    assert _left_in_models_dir(home_dir) == []


class _Zeros(io.RawIOBase):
    def __init__(self, n: int) -> None:
        self.left = n

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:  # type: ignore[override]
        n = min(len(b), self.left)
        b[:n] = bytes(n)
        self.left -= n
        return n


def test_the_total_cap_stops_an_archive_whatever_its_headers_say(home_dir, tmp_path):
    archive = tmp_path / "clip.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as zf:
        for f in clip_folder().iterdir():
            zf.write(f, f"clip/{f.name}")
    size = sum(f.stat().st_size for f in clip_folder().iterdir())
    with pytest.raises(models.ModelFolderError, match="allowed for one model"):
        models.import_model(archive, limits=ImportLimits(max_total_bytes=size // 2))
    assert _left_in_models_dir(home_dir) == []
    assert models.import_model(archive).name == "clip"


def test_a_tar_gz_model_imports(home_dir, tmp_path):
    archive = tmp_path / "clip-tiny.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        tf.add(clip_folder(), arcname="clip-tiny")
    rec = models.import_model(archive)
    assert rec.name == "clip-tiny" and rec.kind == "hf-clip"
    assert (Path(rec.path) / "model.safetensors").is_file()


@pytest.mark.parametrize("kind", ["zip-link", "tar-link", "tar-fifo", "tar-dotdot"])
def test_links_special_files_and_escapes_in_archives_are_refused(home_dir, tmp_path, kind):
    archive = tmp_path / ("m.zip" if kind.startswith("zip") else "m.tar")
    if kind == "zip-link":
        with zipfile.ZipFile(archive, "w") as zf:
            info = zipfile.ZipInfo("m/etc")
            info.external_attr = (0o120777 << 16)
            zf.writestr(info, "/etc")
        expected = "m/etc is a symbolic link"
    else:
        with tarfile.open(archive, "w") as tf:
            info = tarfile.TarInfo({"tar-dotdot": "../evil.txt"}.get(kind, "m/x"))
            if kind == "tar-link":
                info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
            elif kind == "tar-fifo":
                info.type = tarfile.FIFOTYPE
            tf.addfile(info, io.BytesIO(b"") if kind != "tar-dotdot" else io.BytesIO())
        expected = {"tar-link": "m/x is a link", "tar-fifo": "m/x is not a regular file",
                    "tar-dotdot": "unsafe path in archive: ../evil.txt"}[kind]
    with pytest.raises(models.ModelFolderError, match=expected.replace(".", "\\.")):
        models.import_model(archive)
    assert _left_in_models_dir(home_dir) == []
    assert not (tmp_path / "evil.txt").exists()


def test_a_damaged_archive_is_refused_plainly(home_dir, tmp_path):
    archive = tmp_path / "cut.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        tf.add(clip_folder(), arcname="clip")
    archive.write_bytes(archive.read_bytes()[:4000])
    with pytest.raises(models.ModelFolderError, match="cut.tar.gz"):
        models.import_model(archive)
    assert _left_in_models_dir(home_dir) == []



@posix_only
def test_a_refused_model_file_is_named_in_chinese(home_dir, tmp_path, monkeypatch):
    """The window in Chinese: a model folder's link is refused in Chinese, its name kept."""
    monkeypatch.setenv("VLM_DESKTOP_LANGUAGE", "zh_CN")
    folder = _model_copy(tmp_path)
    os.symlink("/etc/passwd", folder / "notes.txt")
    with pytest.raises(models.ModelFolderError) as err:
        models.import_model(folder, name="cap")
    assert "notes.txt 是符号链接（指向 /etc/passwd）" in str(err.value)
    assert _left_in_models_dir(home_dir) == []
