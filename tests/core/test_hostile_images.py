"""Issue #11, rows 3–6: hostile image files fail fast, with one error type naming the file."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.hostile import animated_webp, png_chunk, png_cut_ihdr, png_zeros
from vlm_desktop.core.images import (
    DEFAULT_MAX_PIXELS,
    MAX_SIDE,
    ImageLoadError,
    load_image,
    open_image_size,
    read_image_file,
)


def _error(source: object, **kwargs: object) -> ImageLoadError:
    with pytest.raises(ImageLoadError) as info:
        load_image(source, **kwargs)  # type: ignore[arg-type]
    return info.value


def test_three_byte_jpeg_is_our_error_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "tiny.jpg"
    path.write_bytes(b"\xff\xd8\xff")
    err = _error(path)
    assert err.reason in ("corrupt", "truncated") and "tiny.jpg" in str(err)
    assert _error(b"\xff\xd8\xff", name="items/tiny.jpg").path == "items/tiny.jpg"


@pytest.mark.parametrize("keep", [0, 5, 12])
def test_png_with_cut_ihdr_is_our_error(keep: int) -> None:
    err = _error(png_cut_ihdr(keep), name="cut.png")
    assert err.reason == "truncated" and '"cut.png"' in str(err)


@pytest.mark.timeout(20)
def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)  # nobody ever writes: an open() for reading would wait forever
    err = _error(fifo)
    assert err.reason == "not_a_file" and "pipe.jpg" in str(err) and "FIFO" in str(err)
    with pytest.raises(ImageLoadError):
        open_image_size(fifo)
    with pytest.raises(ImageLoadError):
        read_image_file(fifo)


@pytest.mark.timeout(20)
def test_character_device_is_refused(tmp_path: Path) -> None:
    link = tmp_path / "zero.png"
    link.symlink_to("/dev/zero")
    err = _error(link)
    assert err.reason == "not_a_file" and "character device" in str(err)


@pytest.mark.timeout(20)
def test_tiny_animated_webp_with_a_huge_canvas_is_refused_before_decoding() -> None:
    data = animated_webp(16_416_776, 8)  # 131 MP of canvas in under 300 bytes
    assert len(data) < 300
    err = _error(data, name="anim.webp")
    assert err.reason == "too_large" and "anim.webp" in str(err)


def test_small_png_declaring_169_megapixels_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "zeros.png"
    path.write_bytes(png_zeros(13000, 13000))
    assert path.stat().st_size < 200_000
    err = _error(path)
    assert err.reason == "too_large"
    assert "13000×13000" in str(err) and f"{DEFAULT_MAX_PIXELS:,}" in str(err)


def test_overwide_image_is_refused() -> None:
    ihdr = struct.pack(">IIBBBBB", MAX_SIDE + 1, 1, 8, 0, 0, 0, 0)
    data = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IEND", b"")
    err = _error(data)
    assert err.reason == "too_large" and f"{MAX_SIDE:,}" in str(err)


def test_jpeg_over_the_budget_is_decoded_reduced(tmp_path: Path) -> None:
    path = tmp_path / "photo.jpg"
    noise = np.random.default_rng(3).integers(0, 255, (300, 400, 3), dtype=np.uint8)
    Image.fromarray(noise).save(path, quality=90)
    im = load_image(path, max_pixels=40_000)  # 120,000 declared: 1/2 scale fits
    assert im.size == (200, 150)
    # A PNG has no cheap reduced decode: it is refused instead.
    png = tmp_path / "photo.png"
    Image.fromarray(noise).save(png)
    assert _error(png, max_pixels=40_000).reason == "too_large"


def test_any_decoder_exception_becomes_our_error(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "odd.tif"
    Image.new("RGB", (8, 8)).save(path)

    def broken_load(self: object) -> None:
        raise TypeError("unsupported operand type(s) for /: 'IFDRational' and 'NoneType'")

    monkeypatch.setattr("PIL.TiffImagePlugin.TiffImageFile.load", broken_load)
    err = _error(path)
    assert err.reason == "corrupt" and "odd.tif" in str(err) and "IFDRational" in str(err)
    assert err.path == str(path)


def test_oversized_file_is_not_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "big.png"
    path.write_bytes(bytes(4096))
    with pytest.raises(ImageLoadError) as info:
        read_image_file(path, max_bytes=1024)
    assert info.value.reason == "too_large" and "big.png" in str(info.value)
