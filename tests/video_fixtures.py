"""Short videos drawn with Pillow and encoded with PyAV, for the video tests (core and window)."""

from __future__ import annotations

from pathlib import Path

import av
from PIL import Image, ImageDraw

RED, BLUE, GREEN = (220, 30, 30), (30, 30, 220), (30, 180, 30)


def make_video(path: Path, colours=(RED, BLUE, GREEN), seconds: float = 3, fps: int = 10,
               size=(160, 120), codec: str = "mpeg4") -> Path:
    """Scenes of one colour each with a white square moving across (motion, not a cut)."""
    out = av.open(str(path), "w")
    stream = out.add_stream(codec, rate=fps)
    stream.width, stream.height = size
    stream.pix_fmt = "yuv420p"
    for colour in colours:
        for i in range(int(seconds * fps)):
            im = Image.new("RGB", size, colour)
            x = 10 + 3 * i
            ImageDraw.Draw(im).rectangle([x, 40, x + 30, 70], fill=(240, 240, 240))
            for packet in stream.encode(av.VideoFrame.from_image(im)):
                out.mux(packet)
    for packet in stream.encode():
        out.mux(packet)
    out.close()
    return path
