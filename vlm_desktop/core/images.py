"""The one safe image loader: every format we support, upright, RGB, and clear errors.

GUI, CLI and catalog all load through `load_image`, so a file behaves the same everywhere.
The pixel limit is checked per call against the size the file *declares*, before any pixel
is decoded; Pillow's own global limit (`Image.MAX_IMAGE_PIXELS`) is left untouched.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import struct
import threading
import warnings
from pathlib import Path
from typing import IO, TYPE_CHECKING, Union

from PIL import Image, ImageFile, ImageOps, features

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

# Pillow's own hard limit (2 × its warning threshold): about 179 MP, above any camera.
DEFAULT_MAX_PIXELS = 178_956_970

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

_heif_lock = threading.Lock()
_heif_state: list[bool] = []  # empty until tried; then [registered?]


class ImageLoadError(Exception):
    """An image could not be loaded; `reason` is a short code, the message is for people.

    Reasons: "missing", "unreadable", "empty", "truncated", "corrupt", "not_an_image",
    "unsupported", "too_large".
    """

    def __init__(self, reason: str, message: str, path: str | None = None) -> None:
        super().__init__(message[:1].upper() + message[1:])
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


def image_content_hash(image: Image.Image) -> str:
    """A fast hash of mode, size and pixels: the key of per-image feature caches."""
    h = hashlib.blake2b(digest_size=16)
    h.update(f"{image.mode}:{image.size[0]}x{image.size[1]}:".encode())
    h.update(image.tobytes())
    return h.hexdigest()


def load_image(source: ImageSource, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """Decode `source` (a path or the file's bytes) into an upright RGB image.

    Raises ImageLoadError for anything a user could have handed us that is not a usable image.
    """
    name = _display_name(source)
    try:
        with _open_stream(source, name) as fp:
            im = _identify(fp, name)
            try:
                _check_pixels(im.size, max_pixels, name)
                _decode(im, name)
                return _to_rgb(_upright(im, name), name)
            finally:
                im.close()
    except ImageLoadError as exc:
        exc.path = _source_path(source)
        raise


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


def _display_name(source: ImageSource) -> str:
    if isinstance(source, (bytes, bytearray)):
        return "the image data"
    return f'"{os.fspath(source)}"'


def _open_stream(source: ImageSource, name: str) -> IO[bytes]:
    if isinstance(source, (bytes, bytearray)):
        if not source:
            raise ImageLoadError("empty", f"{name} is empty (0 bytes).")
        return io.BytesIO(source)
    path = os.fspath(source)
    try:
        fp = open(path, "rb")
    except FileNotFoundError:
        raise ImageLoadError("missing", f"Image file not found: {name}.", path) from None
    except PermissionError:
        raise ImageLoadError("unreadable", f"Permission denied reading {name}.", path) from None
    except IsADirectoryError:
        raise ImageLoadError("unreadable", f"{name} is a folder, not an image file.", path) from None
    except OSError as exc:
        raise ImageLoadError("unreadable", f"Cannot read {name}: {exc.strerror or exc}.", path) from exc
    if os.fstat(fp.fileno()).st_size == 0:
        fp.close()
        raise ImageLoadError("empty", f"{name} is empty (0 bytes).", path)
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
            verdict = accept(prefix) if accept is not None else True
            if isinstance(verdict, str) or not verdict:
                continue
            fp.seek(0)
            try:
                return factory(fp, "")
            except (SyntaxError, IndexError, TypeError, struct.error, EOFError) as exc:
                if fmt in _SIGNED_FORMATS:  # its magic bytes matched but the header did not
                    failure = failure or (fmt, exc)
            except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
                # Pillow's own check inside a format's header (GIF frames); warnings only
                # arrive here as exceptions when the warnings filter says "error".
                raise ImageLoadError("too_large", f"{name} is too large to open safely: {exc}") from exc
            except OSError as exc:
                raise _damaged(name, exc) from exc
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
            f"{name} is a {kind} file, which is not supported. Supported: {describe_supported_formats()}.",
        )
    looks = f", despite its {ext} name" if ext in SUPPORTED_EXTENSIONS else ""
    return ImageLoadError("not_an_image", f"{name} is not an image: its contents are in no image format we know{looks}.")


def _damaged(name: str, exc: BaseException, fmt: str = "") -> ImageLoadError:
    text = str(exc) or type(exc).__name__
    lowered = text.lower()
    if "decoder" in lowered and "not available" in lowered:
        return ImageLoadError("unsupported", f"{name} uses an encoding this installation cannot decode ({text}).")
    if isinstance(exc, EOFError) or any(w in lowered for w in ("truncated", "end of file", "eof", "not enough data")):
        return ImageLoadError("truncated", f"{name} is truncated: the file ends before the image does.")
    kind = f"{fmt} " if fmt else ""
    return ImageLoadError("corrupt", f"{name} is a damaged {kind}image and cannot be decoded ({text}).")


# --- decoding --------------------------------------------------------------------------


def _check_pixels(size: tuple[int, int], max_pixels: int, name: str) -> None:
    w, h = size
    if w * h > max_pixels:
        raise ImageLoadError(
            "too_large",
            f"{name} declares {w}×{h} = {w * h:,} pixels, more than the limit of {max_pixels:,};"
            " it was not decoded (a file this size could exhaust memory).",
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
        raise ImageLoadError("too_large", f"{name} is too large to decode safely: {exc}") from exc
    except (OSError, SyntaxError, EOFError, ValueError, struct.error) as exc:
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
        raise ImageLoadError("unsupported", f"{name} has pixel mode {im.mode}, which is not supported.") from exc


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
