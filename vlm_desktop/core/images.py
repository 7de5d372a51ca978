"""The one safe image loader: every format we support, upright, RGB, and clear errors.

GUI, CLI and catalog all load through `load_image`, so a file behaves the same everywhere.
The decode budget is checked per call against the size the file *declares*, before any pixel
is decoded; Pillow's own global limit (`Image.MAX_IMAGE_PIXELS`) is left untouched.

Hostile files: only regular files are opened (a FIFO, device or socket is refused after an
`os.stat`, and the open itself is non-blocking, so nothing can hang); any exception a decoder
raises comes out as `ImageLoadError` with a reason and the file's name; a file declaring more
than the budget is refused (JPEG is decoded reduced instead, which its codec does cheaply).
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import stat
import struct
import threading
import warnings
from pathlib import Path
from typing import IO, TYPE_CHECKING, Union

from PIL import Image, ImageFile, ImageOps, features

from vlm_desktop.core.messages import later, say

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

# The decode budget: the most pixels (canvas × frames decoded) one load may decode. 40 MP is
# about 160 MB as RGBA and about a second to decode, which keeps a file of a few hundred bytes
# that declares a huge canvas cheap; the models look at ~448 px and the viewer at the screen,
# so nothing needs more. JPEG above it (50–100 MP cameras) is decoded at 1/2, 1/4 or 1/8 scale
# by the codec itself (Pillow's draft), so photos still open; other formats are refused.
DEFAULT_MAX_PIXELS = 40_000_000
# Extreme widths cost far more than their pixel count in some decoders (animated WebP's
# canvas compositing: 6,000,000×8 took 10 s while 7000×7000 took 0.9 s); no real image is wider.
MAX_SIDE = 65_535
# The most bytes `read_image_file` reads (the catalog reads whole files to hash and decode them).
MAX_FILE_BYTES = 512 * 1024 * 1024

ImageSource = Union[str, "os.PathLike[str]", bytes]

_FORMATS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("JPEG", (".jpg", ".jpeg", ".jpe", ".jfif")),
    ("PNG", (".png",)),
    ("WebP", (".webp",)),
    ("BMP", (".bmp", ".dib")),
    ("GIF (first frame)", (".gif",)),
    ("TIFF", (".tif", ".tiff")),
    ("HEIC/HEIF", (".heic", ".heif", ".hif")),
) + ((("AVIF", (".avif",)),) if features.check_module("avif") else ())

SUPPORTED_EXTENSIONS: frozenset[str] = frozenset(e for _, exts in _FORMATS for e in exts)

# Formats people meet that we cannot decode; named in the error instead of "not an image".
_KNOWN_UNSUPPORTED: tuple[tuple[bytes, int, str], ...] = (
    (b"\xff\x0a", 0, "JPEG XL"),
    (b"\x00\x00\x00\x0cJXL ", 0, "JPEG XL"),
    (b"%PDF", 0, "PDF"),
    (b"ftypheic", 4, "HEIC"),
    (b"ftypheix", 4, "HEIC"),
    (b"ftypmif1", 4, "HEIF"),
    (b"ftypavif", 4, "AVIF"),
)
_UNSUPPORTED_EXTENSIONS = {
    ".svg": "SVG (vector drawing)", ".jxl": "JPEG XL", ".pdf": "PDF",
    ".cr2": "camera raw", ".cr3": "camera raw", ".nef": "camera raw", ".arw": "camera raw",
    ".raf": "camera raw", ".orf": "camera raw", ".rw2": "camera raw",
}

# Pillow formats whose signature is specific enough that a failed header means damage.
_SIGNED_FORMATS = frozenset({"JPEG", "MPO", "PNG", "WEBP", "BMP", "GIF", "TIFF", "HEIF", "AVIF"})

_O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # POSIX only; Windows has no FIFOs to open
_O_BINARY = getattr(os, "O_BINARY", 0)  # Windows only

_heif_lock = threading.Lock()
_heif_state: list[bool] = []  # empty until tried; then [registered?]


class ImageLoadError(Exception):
    """An image could not be loaded; `reason` is a short code, the message is for people.

    Every failure to load a file a user handed us comes out as this one type, whatever the
    decoder raised. Reasons: "missing", "unreadable", "not_a_file" (FIFO, device, socket),
    "empty", "truncated", "corrupt", "not_an_image", "unsupported", "too_large".
    """

    def __init__(self, reason: str, message: str, path: str | None = None) -> None:
        super().__init__(message)  # as written: a file name may begin it ("photo.jpg is ...")
        self.reason = reason
        self.path = path

    def __reduce__(self) -> tuple[type[ImageLoadError], tuple[str, str, str | None]]:
        return (type(self), (self.reason, str(self), self.path))  # survives process pools


def describe_supported_formats() -> str:
    """One line naming the supported formats and their extensions (README, help, dialogs)."""
    return ", ".join(f"{name} ({', '.join(exts)})" for name, exts in _FORMATS)


def file_dialog_filter() -> str:
    """A name filter for file dialogs: "Images (*.jpg *.png …)"."""
    return "Images (" + " ".join(f"*{e}" for e in sorted(SUPPORTED_EXTENSIONS)) + ")"


HASH_BAND_BYTES = 4 << 20  # pixels hashed a band of rows at a time, about 4 MB each


def image_content_hash(image: Image.Image) -> str:
    """A fast hash of mode, size and pixels: the key of per-image feature caches.

    Big images are read a band of whole rows at a time: the bands' bytes are, in order,
    exactly `tobytes()`, so the key is the same, but no single call copies the whole photo
    while holding the GIL (`tobytes` of a 40-megapixel photo is one 120 MB join, which
    stalled the window's thread 60-80 ms; blake2b itself hashes without the GIL).
    """
    h = hashlib.blake2b(digest_size=16)
    width, height = image.size
    h.update(f"{image.mode}:{width}x{height}:".encode())
    rows = max(1, HASH_BAND_BYTES // max(1, 4 * width))  # at most 4 bytes a pixel (RGBA)
    if height <= rows:
        h.update(image.tobytes())
    else:
        for top in range(0, height, rows):
            h.update(image.crop((0, top, width, min(height, top + rows))).tobytes())
    return h.hexdigest()


def load_image(source: ImageSource, *, max_pixels: int = DEFAULT_MAX_PIXELS,
               name: str | None = None, max_side: int | None = None) -> Image.Image:
    """Decode `source` (a path or the file's bytes) into an upright RGB image.

    Raises ImageLoadError for anything a user could have handed us that is not a usable image.
    `name` is the file's name in messages when `source` is its bytes. `max_side`: the caller
    only needs this many pixels on the long side, so a JPEG may be decoded at 1/2, 1/4 or
    1/8 scale (libjpeg's reduced decoding) as long as its long side stays at least that;
    other formats decode whole. The result is not resized further: that is the caller's.
    """
    label = _display_name(source, name)
    try:
        with _open_stream(source, label) as fp:
            im = _identify(fp, label)
            try:
                _fit_budget(im, max_pixels, label, max_side)
                _decode(im, label)
                return _to_rgb(_upright(im, label), label)
            finally:
                im.close()
    except ImageLoadError as exc:
        exc.path = _source_path(source) or name
        raise
    except MemoryError:
        raise ImageLoadError("too_large", say("There is not enough memory to decode {name}.", name=label),
                             _source_path(source) or name) from None
    except Exception as exc:  # a decoder's own bug on hostile data: still our one error type
        log.info("decoder failure on %s", label, exc_info=True)
        err = _damaged(label, exc)
        err.path = _source_path(source) or name
        raise err from exc


def read_image_file(path: str | os.PathLike[str], max_bytes: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of the regular file at `path`, refusing FIFOs, devices and oversized files.

    For callers that hash and decode the same bytes (the catalog indexer).
    """
    label = _display_name(path)
    with _open_stream(path, label, allow_empty=True) as fp:
        size = os.fstat(fp.fileno()).st_size
        if size > max_bytes:
            raise ImageLoadError(
                "too_large", say("{name} is {size:,} bytes, more than the {limit:,} an image may have here.",
                                  name=label, size=size, limit=max_bytes), os.fspath(path))
        data = fp.read(max_bytes + 1)
    if len(data) > max_bytes:  # it grew while we read it
        raise ImageLoadError("too_large", say("{name} is more than {limit:,} bytes.", name=label,
                                                 limit=max_bytes),
                             os.fspath(path))
    return data


def open_regular_file(path: str | os.PathLike[str]) -> IO[bytes]:
    """Open `path` for reading only if it is a regular file; never blocks on a FIFO."""
    return _open_stream(path, _display_name(path), allow_empty=True)


def open_image_size(source: ImageSource) -> tuple[int, int]:
    """The upright (width, height) from the file header alone, without decoding pixels."""
    name = _display_name(source)
    try:
        with _open_stream(source, name) as fp:
            im = _identify(fp, name)
            try:
                return _upright_size(im, name)
            finally:
                im.close()
    except ImageLoadError as exc:
        exc.path = _source_path(source)
        raise
    except Exception as exc:  # same contract as load_image
        err = _damaged(name, exc)
        err.path = _source_path(source)
        raise err from exc


def _upright_size(im: ImageFile.ImageFile, name: str) -> tuple[int, int]:
    w, h = im.size
    if im.format == "PNG" and "exif" not in im.info:
        return w, h  # PNG's EXIF may sit after the pixels; reading it would decode them
    try:
        orientation = im.getexif().get(0x0112, 1)
    except Exception as exc:  # a damaged EXIF block must not hide the size
        log.info("ignoring unreadable EXIF in %s: %s", name, exc)
        orientation = 1
    return (h, w) if orientation in (5, 6, 7, 8) else (w, h)


# --- opening ---------------------------------------------------------------------------


def _source_path(source: ImageSource) -> str | None:
    return None if isinstance(source, (bytes, bytearray)) else os.fspath(source)


def _display_name(source: ImageSource, name: str | None = None) -> str:
    if name:
        return f'"{name}"'
    if isinstance(source, (bytes, bytearray)):
        return say("the image data")
    return f'"{os.fspath(source)}"'


_KINDS = ((stat.S_ISFIFO, later("named pipe (FIFO)")), (stat.S_ISCHR, later("character device")),
          (stat.S_ISBLK, later("block device")), (stat.S_ISSOCK, later("socket")))


def special_file_kind(mode: int) -> str:
    """What a non-regular, non-folder file is ("named pipe (FIFO)", "socket", …), from st_mode."""
    return next((kind for test, kind in _KINDS if test(mode)), later("special file"))


def _not_a_file(name: str, mode: int, path: str) -> ImageLoadError:
    return ImageLoadError("not_a_file", say("{name} is a {kind}, not a regular file; it was not read.",
                              name=name, kind=say(special_file_kind(mode))), path)


def _open_stream(source: ImageSource, name: str, allow_empty: bool = False) -> IO[bytes]:
    if isinstance(source, (bytes, bytearray)):
        if not source:
            raise ImageLoadError("empty", say("{name} is empty (0 bytes).", name=name))
        return io.BytesIO(source)
    path = os.fspath(source)
    try:
        # stat first: opening a FIFO for reading blocks until a writer comes, a device may
        # never end. The open is non-blocking too, for a file swapped in after the stat.
        mode = os.stat(path).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(path)
        if not stat.S_ISREG(mode):
            raise _not_a_file(name, mode, path)
        fd = os.open(path, os.O_RDONLY | _O_NONBLOCK | _O_BINARY)
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            os.close(fd)
            raise _not_a_file(name, mode, path)
        fp = open(fd, "rb")
        fp.raw.name = path  # type: ignore[attr-defined]  # messages name the file, not the fd
    except FileNotFoundError:
        raise ImageLoadError("missing", say("Image file not found: {name}.", name=name), path) from None
    except PermissionError:
        raise ImageLoadError("unreadable", say("Permission denied reading {name}.", name=name), path) from None
    except IsADirectoryError:
        raise ImageLoadError("unreadable", say("{name} is a folder, not an image file.", name=name), path) from None
    except OSError as exc:
        raise ImageLoadError("unreadable", say("Cannot read {name}: {error}.", name=name,
                                                   error=exc.strerror or exc), path) from exc
    if os.fstat(fp.fileno()).st_size == 0 and not allow_empty:
        fp.close()
        raise ImageLoadError("empty", say("{name} is empty (0 bytes).", name=name), path)
    return fp


def _register_heif() -> None:
    """Teach Pillow HEIC/HEIF via pillow-heif, once, on first use (its import is not free)."""
    if _heif_state:
        return
    with _heif_lock:
        if _heif_state:
            return
        try:
            import pillow_heif

            pillow_heif.register_heif_opener()
            _heif_state.append(True)
        except ImportError:
            log.warning("pillow-heif is not installed: HEIC/HEIF images cannot be opened")
            _heif_state.append(False)


def _identify(fp: IO[bytes], name: str) -> ImageFile.ImageFile:
    """Image.open's format detection without its global pixel check (ours is per call)."""
    _register_heif()
    prefix = fp.read(16)
    tried: set[str] = set()
    failure: tuple[str, Exception] | None = None
    for load_plugins in (Image.preinit, Image.init):
        load_plugins()
        for fmt in [f for f in Image.ID if f not in tried]:
            tried.add(fmt)
            factory, accept = Image.OPEN[fmt]
            try:  # some accept() functions unpack a fixed-size prefix a short file lacks
                verdict = accept(prefix) if accept is not None else True
            except Exception:
                verdict = False
            if isinstance(verdict, str) or not verdict:
                continue
            fp.seek(0)
            try:
                return factory(fp, "")
            except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
                # Pillow's own check inside a format's header (GIF frames); warnings only
                # arrive here as exceptions when the warnings filter says "error".
                raise ImageLoadError("too_large", say("{name} is too large to open safely: {error}", name=name, error=exc)) from exc
            except OSError as exc:
                raise _damaged(name, exc) from exc
            except MemoryError:
                raise
            except Exception as exc:  # SyntaxError, struct.error, ValueError, …: a bad header
                if fmt in _SIGNED_FORMATS:  # its magic bytes matched but the header did not
                    failure = failure or (fmt, exc)
    if failure:
        raise _damaged(name, failure[1], failure[0])
    raise _unidentified(fp, name, prefix)


def _unidentified(fp: IO[bytes], name: str, prefix: bytes) -> ImageLoadError:
    ext = Path(str(getattr(fp, "name", ""))).suffix.lower()
    kind = next((k for magic, at, k in _KNOWN_UNSUPPORTED if prefix[at:at + len(magic)] == magic), None)
    kind = kind or _UNSUPPORTED_EXTENSIONS.get(ext)
    if kind:
        return ImageLoadError(
            "unsupported",
            say("{name} is a {kind} file, which is not supported. Supported: {formats}.", name=name,
                kind=kind, formats=describe_supported_formats()),
        )
    if ext in SUPPORTED_EXTENSIONS:
        return ImageLoadError("not_an_image", say(
            "{name} is not an image: its contents are in no image format we know, despite its "
            "{ext} name.", name=name, ext=ext))
    return ImageLoadError("not_an_image", say(
        "{name} is not an image: its contents are in no image format we know.", name=name))


def _damaged(name: str, exc: BaseException, fmt: str = "") -> ImageLoadError:
    text = str(exc) or type(exc).__name__
    lowered = text.lower()
    if "decoder" in lowered and "not available" in lowered:
        return ImageLoadError("unsupported", say(
            "{name} uses an encoding this installation cannot decode ({error}).", name=name,
            error=text))
    if isinstance(exc, EOFError) or any(w in lowered for w in (
            "truncated", "end of file", "eof", "not enough data", "requires a buffer of at least")):
        return ImageLoadError("truncated", say(
            "{name} is truncated: the file ends before the image does.", name=name))
    if fmt:
        return ImageLoadError("corrupt", say(
            "{name} is a damaged {format} image and cannot be decoded ({error}).", name=name,
            format=fmt, error=text))
    return ImageLoadError("corrupt", say(
        "{name} is a damaged image and cannot be decoded ({error}).", name=name, error=text))


# --- decoding --------------------------------------------------------------------------


def _fit_budget(im: ImageFile.ImageFile, max_pixels: int, name: str,
                max_side: int | None = None) -> None:
    """Refuse what costs more than the budget to decode; shrink JPEG in its codec instead,
    also down to `max_side` on the long side where the caller needs no more."""
    w, h = im.size
    if w <= 0 or h <= 0:
        raise ImageLoadError("corrupt", say("{name} declares an empty {w}×{h} image.", name=name,
                                                 w=w, h=h))
    if max(w, h) > MAX_SIDE:
        raise ImageLoadError(
            "too_large", say("{name} declares {w}×{h} pixels, wider or taller than the limit "
                             "of {limit:,}; it was not decoded.", name=name, w=w, h=h,
                             limit=MAX_SIDE))
    if im.format in ("JPEG", "MPO"):
        # libjpeg decodes at 1/2, 1/4 or 1/8 scale far more cheaply than at full size. The
        # budget may need a scale; `max_side` allows the largest that keeps the long side.
        need = next((s for s in (1, 2, 4, 8) if (w // s) * (h // s) <= max_pixels), None)
        if need is not None:
            scale = max([need] + [s for s in (2, 4, 8) if max_side and max(w, h) // s >= max_side])
            if scale > 1:
                im.draft("RGB", (max(1, w // scale), max(1, h // scale)))  # Pillow: >= scale
                if scale == need:
                    log.info("decoding %s at 1/%d scale (%d×%d declared)", name, scale, w, h)
            return
    _check_pixels(im.size, max_pixels, name)


def _check_pixels(size: tuple[int, int], max_pixels: int, name: str) -> None:
    w, h = size
    if w * h > max_pixels:
        raise ImageLoadError(
            "too_large",
            say("{name} declares {w}×{h} = {pixels:,} pixels, more than the limit of {limit:,}; "
                "it was not decoded (a file this size could exhaust memory and time).",
                name=name, w=w, h=h, pixels=w * h, limit=max_pixels),
        )


def _decode(im: ImageFile.ImageFile, name: str) -> None:
    try:
        if im.size[0] * im.size[1] > (Image.MAX_IMAGE_PIXELS or 2**63):
            # Already allowed by our own limit; keep Pillow's per-frame warning quiet.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                im.load()
        else:
            im.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageLoadError("too_large", say("{name} is too large to decode safely: {error}", name=name,
                                             error=exc)) from exc
    except MemoryError:
        raise
    except Exception as exc:  # OSError, SyntaxError, ValueError, struct.error, TypeError, …
        raise _damaged(name, exc, im.format or "") from exc


def _upright(im: Image.Image, name: str) -> Image.Image:
    """A new image with the EXIF orientation applied; damaged EXIF only costs the rotation."""
    try:
        return ImageOps.exif_transpose(im)  # a copy even when nothing turns: `im` gets closed
    except Exception as exc:  # EXIF parsers raise a zoo of types on bad data
        log.warning("ignoring unreadable EXIF orientation in %s: %s", name, exc)
        return im.copy()


def _to_rgb(im: Image.Image, name: str) -> Image.Image:
    """Any decoded mode to 8-bit RGB; transparency is composited on white. May return `im`."""
    if im.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        import numpy as np  # only deep greys need it; keeps this module light to import

        return Image.fromarray(_to_uint8(np.asarray(im))).convert("RGB")
    if _has_alpha(im):
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    if im.mode == "RGB":
        return im
    try:
        return im.convert("RGB")  # L, 1, P, CMYK (Pillow reads JPEG CMYK Adobe-inverted), YCbCr, LAB
    except ValueError as exc:
        raise ImageLoadError("unsupported", say("{name} has pixel mode {mode}, which is not supported.",
                                                 name=name, mode=im.mode)) from exc


def _has_alpha(im: Image.Image) -> bool:
    if im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info:
        return True
    return im.mode == "P" and im.palette is not None and im.palette.mode == "RGBA"


def _to_uint8(values: np.ndarray) -> np.ndarray:
    """Scale 16-bit, 32-bit or float grey values to 0..255 without clipping the range."""
    import numpy as np

    v = np.nan_to_num(values.astype(np.float64))
    lo, hi = float(v.min()), float(v.max())
    if values.dtype.kind == "f" and lo >= 0.0 and hi <= 1.0:
        scaled = v * 255.0
    elif lo >= 0 and hi <= 65535:
        scaled = v / 257.0  # 16-bit: 65535 → 255, 32768 → 127.5 → 128
    else:  # other integer or float ranges: stretch what is there
        scaled = (v - lo) * (255.0 / max(hi - lo, 1e-12))
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)
