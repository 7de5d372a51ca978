"""The safe image loader on a corpus generated here: good files load right, bad ones fail clearly."""

from __future__ import annotations

import random
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vlm_desktop.core.images import (
    DEFAULT_MAX_PIXELS,
    SUPPORTED_EXTENSIONS,
    ImageLoadError,
    describe_supported_formats,
    image_content_hash,
    load_image,
    open_image_size,
)

RED = (220, 20, 20)
BLUE = (20, 40, 220)


def _close(actual: tuple[int, ...], expected: tuple[int, ...], tol: int = 12) -> bool:
    return all(abs(a - e) <= tol for a, e in zip(actual, expected))


def _load_error(source: object, **kwargs: int) -> ImageLoadError:
    with pytest.raises(ImageLoadError) as info:
        load_image(source, **kwargs)  # type: ignore[arg-type]
    return info.value


def _pillow_mode(path: Path) -> str:
    with Image.open(path) as im:
        return im.mode


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


# --- files that must be refused ---------------------------------------------------------


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    err = _load_error(path)
    assert err.reason == "empty"
    assert "empty.jpg" in str(err) and "empty" in str(err)
    assert err.path == str(path)


def test_truncated_jpeg(tmp_path: Path) -> None:
    full = tmp_path / "full.jpg"
    noise = np.random.default_rng(1).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    Image.fromarray(noise).save(full, quality=90)
    data = full.read_bytes()
    for keep in (len(data) // 2, 300):
        cut = tmp_path / f"cut{keep}.jpg"
        cut.write_bytes(data[:keep])
        err = _load_error(cut)
        assert err.reason == "truncated", str(err)
        assert cut.name in str(err)


def test_text_file_named_png(tmp_path: Path) -> None:
    path = tmp_path / "notes.png"
    path.write_text("This is a shopping list, not a picture.\n" * 5)
    err = _load_error(path)
    assert err.reason == "not_an_image"
    assert "notes.png" in str(err) and "not an image" in str(err)


def test_random_bytes_named_webp(tmp_path: Path) -> None:
    path = tmp_path / "noise.webp"
    rng = random.Random(7)
    path.write_bytes(bytes(rng.getrandbits(8) for _ in range(2048)))
    err = _load_error(path)
    assert err.reason == "not_an_image"
    assert "noise.webp" in str(err)


def test_decompression_bomb_refused_before_decoding(tmp_path: Path) -> None:
    ihdr = struct.pack(">IIBBBBB", 60000, 60000, 8, 2, 0, 0, 0)  # 8-bit RGB, 60000×60000
    # The pixel data is not even valid zlib: decoding it would fail differently.
    body = _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", b"garbage") + _png_chunk(b"IEND", b"")
    path = tmp_path / "bomb.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + body)
    limit_before = Image.MAX_IMAGE_PIXELS

    err = _load_error(path)

    assert err.reason == "too_large"
    message = str(err)
    assert "bomb.png" in message
    assert "60000×60000" in message and "3,600,000,000" in message
    assert f"{DEFAULT_MAX_PIXELS:,}" in message
    assert Image.MAX_IMAGE_PIXELS == limit_before  # Pillow's global limit is left alone
    assert open_image_size(path) == (60000, 60000)  # the header alone is cheap and fine


def test_gif_frame_larger_than_its_screen_is_refused() -> None:
    # A 10×10 screen whose first frame claims 20000×10000: Pillow's own check trips inside
    # the GIF header parser, and must still come out as our error.
    frame = struct.pack("<HHHH", 0, 0, 20000, 10000)
    gif = b"GIF89a" + struct.pack("<HH", 10, 10) + b"\x00\x00\x00," + frame + b"\x00\x02\x02\x44\x01\x00;"
    err = _load_error(gif)
    assert err.reason == "too_large" and "200000000 pixels" in str(err)


def test_pixel_limit_is_per_call(tmp_path: Path) -> None:
    path = tmp_path / "small.png"
    Image.new("RGB", (40, 30), RED).save(path)
    err = _load_error(path, max_pixels=1000)
    assert err.reason == "too_large" and "40×30 = 1,200" in str(err) and "1,000" in str(err)
    assert load_image(path, max_pixels=1200).size == (40, 30)


def test_missing_file_and_folder(tmp_path: Path) -> None:
    err = _load_error(tmp_path / "gone.jpg")
    assert err.reason == "missing" and "gone.jpg" in str(err) and "not found" in str(err)
    err = _load_error(tmp_path)
    assert err.reason == "unreadable" and "folder" in str(err)


def test_permission_denied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "locked.png"
    Image.new("RGB", (4, 4), RED).save(path)

    def deny(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    # chmod does not stop root (the CI user here), so refuse the open itself.
    monkeypatch.setattr("vlm_desktop.core.images.open", deny, raising=False)
    err = _load_error(path)
    assert err.reason == "unreadable" and "Permission denied" in str(err) and "locked.png" in str(err)


def test_known_but_unsupported_format(tmp_path: Path) -> None:
    path = tmp_path / "drawing.svg"
    path.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"></svg>')
    err = _load_error(path)
    assert err.reason == "unsupported" and "SVG" in str(err) and "JPEG" in str(err)


def test_empty_bytes() -> None:
    assert _load_error(b"").reason == "empty"


def test_error_survives_pickling(tmp_path: Path) -> None:
    import pickle

    err = pickle.loads(pickle.dumps(_load_error(tmp_path / "gone.png")))
    assert err.reason == "missing" and "gone.png" in str(err) and err.path == str(tmp_path / "gone.png")


# --- colour modes ------------------------------------------------------------------------


def test_cmyk_jpeg(tmp_path: Path) -> None:
    path = tmp_path / "print.jpg"
    cmyk = Image.new("CMYK", (32, 16), (0, 255, 255, 0))  # pure red in print inks
    cmyk.paste((255, 0, 0, 0), (16, 0, 32, 16))  # pure cyan on the right half
    cmyk.save(path, quality=95)
    assert _pillow_mode(path) == "CMYK"
    im = load_image(path)
    assert im.mode == "RGB"
    assert _close(im.getpixel((4, 8)), (255, 0, 0), 20)
    assert _close(im.getpixel((28, 8)), (0, 255, 255), 20)


def test_16_bit_grey_png_is_scaled_not_clipped(tmp_path: Path) -> None:
    path = tmp_path / "deep.png"
    values = np.array([[0, 32768, 65535, 16384]], dtype=np.uint16).repeat(4, axis=0)
    Image.fromarray(values).save(path)
    assert _pillow_mode(path).startswith("I")
    im = load_image(path)
    greys = [im.getpixel((x, 1)) for x in range(4)]
    assert greys[0] == (0, 0, 0)
    assert all(abs(c - 128) <= 1 for c in greys[1])  # mid-grey stays mid-grey
    assert greys[2] == (255, 255, 255)
    assert all(abs(c - 64) <= 1 for c in greys[3])


def test_palette_png_with_transparency_key(tmp_path: Path) -> None:
    path = tmp_path / "sticker.png"
    im = Image.new("P", (8, 8), 0)
    im.putpalette([0, 0, 0, *RED] + [0] * (256 * 3 - 6))
    im.paste(1, (0, 0, 4, 8))
    im.save(path, transparency=0)  # palette entry 0 (black) is transparent
    out = load_image(path)
    assert out.getpixel((2, 2)) == RED
    assert out.getpixel((6, 2)) == (255, 255, 255)  # transparent → white, not black


@pytest.mark.parametrize("mode, colour", [("LA", (0, 0)), ("RGBA", (0, 0, 255, 0))])
def test_alpha_is_composited_on_white(tmp_path: Path, mode: str, colour: tuple[int, ...]) -> None:
    path = tmp_path / f"{mode}.png"
    im = Image.new(mode, (6, 6), colour)
    half = (0, 0, 0, 128) if mode == "RGBA" else (0, 128)
    im.paste(half, (0, 0, 3, 6))
    im.save(path)
    out = load_image(path)
    assert out.getpixel((5, 3)) == (255, 255, 255)
    assert _close(out.getpixel((1, 3)), (127, 127, 127), 2)  # half-opaque black over white


@pytest.mark.parametrize("mode", ["L", "1", "P"])
def test_greyscale_bilevel_and_palette_become_rgb(tmp_path: Path, mode: str) -> None:
    path = tmp_path / f"{mode}.png"
    Image.new("RGB", (8, 8), (255, 255, 255)).convert(mode).save(path)
    out = load_image(path)
    assert out.mode == "RGB" and out.getpixel((3, 3)) == (255, 255, 255)


def test_animated_gif_gives_first_frame(tmp_path: Path) -> None:
    path = tmp_path / "blink.gif"
    frames = [Image.new("RGB", (10, 10), c) for c in (BLUE, RED, (0, 200, 0))]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    with Image.open(path) as gif:
        assert gif.n_frames == 3
    out = load_image(path)
    assert _close(out.getpixel((5, 5)), BLUE, 8)


# --- orientation ---------------------------------------------------------------------------

# EXIF orientation by the spec: which visual side stored row 0 and stored column 0 lie on.
_EXIF_SIDES = {
    1: ("top", "left"), 2: ("top", "right"), 3: ("bottom", "right"), 4: ("bottom", "left"),
    5: ("left", "top"), 6: ("right", "top"), 7: ("right", "bottom"), 8: ("left", "bottom"),
}


def _as_stored(upright: np.ndarray, orientation: int) -> np.ndarray:
    """The pixels a camera would store so that `orientation` displays `upright`."""
    h, w = upright.shape[:2]
    row_side, col_side = _EXIF_SIDES[orientation]
    if row_side in ("top", "bottom"):
        r, c = np.mgrid[0:h, 0:w]
        y = r if row_side == "top" else h - 1 - r
        x = c if col_side == "left" else w - 1 - c
    else:  # stored rows run along the visual columns
        r, c = np.mgrid[0:w, 0:h]
        x = r if row_side == "left" else w - 1 - r
        y = c if col_side == "top" else h - 1 - c
    return upright[y, x]


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied(tmp_path: Path, orientation: int) -> None:
    upright = np.full((40, 80, 3), BLUE, dtype=np.uint8)  # wide, with a marker top-left
    upright[:16, :24] = RED
    path = tmp_path / f"oriented{orientation}.jpg"
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(_as_stored(upright, orientation)).save(path, exif=exif, quality=95)

    out = load_image(path)

    assert out.size == (80, 40)
    assert open_image_size(path) == (80, 40)
    assert _close(out.getpixel((6, 6)), RED, 25)  # the marker is back in the top-left
    for corner in ((74, 6), (6, 34), (74, 34)):
        assert _close(out.getpixel(corner), BLUE, 25)


# --- formats and names ----------------------------------------------------------------------


def _pattern() -> Image.Image:
    im = Image.new("RGB", (24, 16), BLUE)
    im.paste(RED, (0, 0, 12, 16))
    return im


@pytest.mark.parametrize("ext", sorted(SUPPORTED_EXTENSIONS))
def test_every_supported_extension_loads(tmp_path: Path, ext: str) -> None:
    if ext in (".heic", ".heif", ".hif"):
        import pillow_heif

        pillow_heif.register_heif_opener()  # so that Pillow can *write* the file for the test
    path = tmp_path / f"pattern{ext}"
    save_format = {".hif": "HEIF", ".dib": "BMP", ".jfif": "JPEG", ".jpe": "JPEG"}.get(ext)
    _pattern().save(path, format=save_format)
    out = load_image(path)
    assert out.mode == "RGB" and out.size == (24, 16)
    assert _close(out.getpixel((3, 8)), RED, 30) and _close(out.getpixel((20, 8)), BLUE, 30)


def test_one_pixel_image(tmp_path: Path) -> None:
    path = tmp_path / "dot.png"
    Image.new("RGB", (1, 1), RED).save(path)
    out = load_image(path)
    assert out.size == (1, 1) and out.getpixel((0, 0)) == RED


def test_non_ascii_file_name(tmp_path: Path) -> None:
    path = tmp_path / "dossier été" / "café 写真.jpg"
    path.parent.mkdir()
    _pattern().save(path, quality=95)
    assert load_image(path).size == (24, 16)
    assert load_image(str(path)).size == (24, 16)
    err = _load_error(path.with_name("café 写真 2.jpg"))
    assert "café 写真 2.jpg" in str(err)


def test_bytes_source_matches_file(tmp_path: Path) -> None:
    path = tmp_path / "p.png"
    _pattern().save(path)
    assert image_content_hash(load_image(path.read_bytes())) == image_content_hash(load_image(path))


def test_content_hash_tracks_pixels() -> None:
    a, b = _pattern(), _pattern()
    assert image_content_hash(a) == image_content_hash(b)
    b.putpixel((23, 15), (0, 0, 0))
    assert image_content_hash(a) != image_content_hash(b)
    assert image_content_hash(a) != image_content_hash(a.convert("L").convert("RGB"))


@pytest.mark.parametrize("mode", ["RGB", "L", "1", "RGBA"])
def test_a_big_image_hashed_in_bands_keeps_the_whole_image_key(mode: str, monkeypatch) -> None:
    """Feature caches saved under the old key (all pixels at once) must still be found."""
    import hashlib

    from vlm_desktop.core import images

    rng = np.random.default_rng(3)
    image = Image.fromarray(rng.integers(0, 256, (301, 97, 3), dtype=np.uint8)).convert(mode)
    whole = hashlib.blake2b(digest_size=16)
    whole.update(f"{image.mode}:97x301:".encode())
    whole.update(image.tobytes())
    monkeypatch.setattr(images, "HASH_BAND_BYTES", 1000)  # bands of a few rows, odd last band
    assert image_content_hash(image) == whole.hexdigest()
    changed = image.copy()  # the last pixel of the last, short band
    old = image.getpixel((96, 300))
    changed.putpixel((96, 300), 255 - old if isinstance(old, int) else tuple(255 - v for v in old))
    assert image_content_hash(changed) != image_content_hash(image)


def test_supported_formats_are_described() -> None:
    text = describe_supported_formats()
    for word in ("JPEG", "PNG", "WebP", "BMP", "GIF", "TIFF", "HEIC"):
        assert word in text
    assert {".jpg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff", ".heic"} <= SUPPORTED_EXTENSIONS


def _photo(size: tuple[int, int]) -> Image.Image:
    """A smooth photo-like picture (gradients and a disc), not noise: what cameras make."""
    w, h = size
    y, x = np.mgrid[0:h, 0:w]
    r = (255 * x / w).astype(np.uint8)
    g = (255 * y / h).astype(np.uint8)
    b = np.where((x - w / 2) ** 2 + (y - h / 2) ** 2 < (min(w, h) / 3) ** 2, 230, 30).astype(np.uint8)
    return Image.fromarray(np.dstack([r, g, b]))


@pytest.mark.parametrize("size", [(2048, 1536), (1536, 2048), (2047, 1535), (4000, 3000), (1100, 700)])
def test_jpeg_decoded_reduced_keeps_the_long_side_asked_for(tmp_path: Path, size: tuple[int, int]) -> None:
    path = tmp_path / "camera.jpg"
    _photo(size).save(path, quality=92)
    whole = load_image(path)
    assert whole.size == size
    for side in (1024, 512):
        im = load_image(path, max_side=side)
        assert max(im.size) >= side, (size, side, im.size)
        assert max(im.size) <= 2 * side or max(size) < 2 * side  # no bigger than needed
        assert im.size[0] / im.size[1] == pytest.approx(size[0] / size[1], rel=0.01)
        # The same picture: shrunk to one size, the two decodes differ by a few levels.
        a = np.asarray(whole.resize((256, 192) if size[0] > size[1] else (192, 256)), np.float32)
        b = np.asarray(im.resize(a.shape[1::-1]), np.float32)
        assert np.abs(a - b).mean() < 2.0


def test_max_side_leaves_small_jpegs_and_other_formats_whole(tmp_path: Path) -> None:
    small = tmp_path / "small.jpg"
    _photo((900, 600)).save(small, quality=92)
    assert load_image(small, max_side=512).size == (900, 600)  # 1/2 would be 450 < 512
    png = tmp_path / "big.png"
    _photo((2048, 1536)).save(png)
    assert load_image(png, max_side=512).size == (2048, 1536)  # no reduced PNG decode


def test_indexer_decodes_camera_jpegs_reduced_to_its_size(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from vlm_desktop.core.catalog import indexer
    from vlm_desktop.core.catalog.store import CatalogItem

    _photo((4000, 3000)).save(tmp_path / "shot.jpg", quality=90)
    decoded_sizes = []
    real = Image.Image.thumbnail

    def spy(self: Image.Image, *args: object, **kwargs: object) -> None:
        decoded_sizes.append(self.size)
        real(self, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "thumbnail", spy)
    st = (tmp_path / "shot.jpg").stat()
    item = CatalogItem(id=1, path="shot.jpg", title="shot", size=st.st_size, mtime=st.st_mtime)
    got = indexer.decode_item(tmp_path, item)
    assert not got.error and max(got.image.size) == indexer.DECODE_MAX_SIDE
    # 4000 px decoded at 1/2 (2000 px, >= DRAFT_MIN_SIDE), not whole (12 MP) nor below.
    assert decoded_sizes == [(2000, 1500)]
