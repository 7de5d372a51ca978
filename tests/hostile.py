"""Builders for the hostile files of issue #11: small, made in the test, fast."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from pathlib import Path

from PIL import Image

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_cut_ihdr(keep: int = 5) -> bytes:
    """A PNG whose IHDR chunk holds only `keep` of its 13 bytes (with a valid CRC)."""
    ihdr = struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0)[:keep]
    return PNG_MAGIC + png_chunk(b"IHDR", ihdr) + png_chunk(b"IEND", b"")


def png_zeros(width: int, height: int) -> bytes:
    """A valid 8-bit grey PNG of zeros: tiny on disk, width×height pixels to decode."""
    comp = zlib.compressobj(9)
    row = b"\x00" * (width + 1)
    parts = [comp.compress(row) for _ in range(height)]
    parts.append(comp.flush())
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (PNG_MAGIC + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", b"".join(parts))
            + png_chunk(b"IEND", b""))


def _riff_chunk(tag: bytes, data: bytes) -> bytes:
    return tag + struct.pack("<I", len(data)) + data + (b"\x00" if len(data) % 2 else b"")


def animated_webp(canvas_w: int, canvas_h: int, frames: int = 1) -> bytes:
    """An animated WebP of 1×1 frames on a canvas_w×canvas_h canvas (under 300 bytes)."""
    one = io.BytesIO()
    Image.new("RGB", (1, 1), (255, 0, 0)).save(one, "WEBP", lossless=True)
    vp8l = one.getvalue()[12:]  # the VP8L chunk of a one-pixel still
    vp8x = b"\x02\x00\x00\x00" + (canvas_w - 1).to_bytes(3, "little") \
        + (canvas_h - 1).to_bytes(3, "little")
    anim = struct.pack("<IH", 0xFFFFFFFF, 0)
    header = bytes(12) + (1).to_bytes(3, "little") + b"\x00"  # at 0,0; 1×1; 1 ms
    body = b"WEBP" + _riff_chunk(b"VP8X", vp8x) + _riff_chunk(b"ANIM", anim) \
        + b"".join(_riff_chunk(b"ANMF", header + vp8l) for _ in range(frames))
    return b"RIFF" + struct.pack("<I", len(body)) + body


def zip_of_zeros(path: Path, member_bytes: int, name: str = "model.safetensors",
                 extra: dict[str, bytes] | None = None) -> Path:
    """A zip holding `member_bytes` zeros (deflated ~1000:1) beside `extra` small files."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for member, data in (extra or {}).items():
            zf.writestr(member, data)
        with zf.open(name, "w", force_zip64=True) as out:
            block = bytes(1 << 20)
            left = member_bytes
            while left > 0:
                out.write(block[:min(left, len(block))])
                left -= len(block)
    return path
