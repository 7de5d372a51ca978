"""Video files: sampled frames, scenes found by frame difference, one caption per scene.

Frames are decoded with PyAV (FFmpeg inside its wheel). A video is sampled, never decoded
whole into memory: at most `MAX_SAMPLES` frames spread over its length (every 0.5 s for
short clips), small grey thumbnails and colour histograms kept for the scene test, and only
the current scene's frames (thinned as it grows) kept as pictures until its keyframe, the
middle frame, is chosen. Short videos are decoded in order; long ones by seeking to each
sample time, so a two-hour file costs a few hundred seeks, not two hours of decoding.

A scene changes where consecutive samples differ enough (mean grey difference or colour
histogram distance over a threshold) and the current scene has lasted `MIN_SCENE_S`.

Subtitles: SRT and WebVTT, one cue per scene with its caption. Every failure to read a file
is an `ImageLoadError` (the project's one error type for a file a user handed us) naming it.
"""

from __future__ import annotations

import logging
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Optional, Sequence

import numpy as np
from PIL import Image

from vlm_desktop.core.cancel import JobState
from vlm_desktop.core.images import DEFAULT_MAX_PIXELS, ImageLoadError, special_file_kind

log = logging.getLogger(__name__)

VIDEO_EXTENSIONS = frozenset({".mp4", ".m4v", ".mkv", ".webm", ".mov", ".avi"})
MAX_SAMPLES = 1200
MIN_STEP_S = 0.5
LONG_VIDEO_S = 600.0  # above this, seek to each sample instead of decoding in order
MIN_SCENE_S = 1.0
GREY_CUT = 0.12  # mean absolute grey difference (0..1) of 32x32 thumbnails
HIST_CUT = 0.35  # half the L1 distance of 4x4x4 colour histograms (0..1)
KEYFRAME_SIDE = 512
SCENE_BUFFER = 48  # frames kept as pictures for the current scene; thinned beyond
MAX_DECODED = 200_000  # frames decoded in all, whatever the file declares
SEEK_DECODE_LIMIT = 600  # frames decoded after one seek while looking for the sample


def is_video(path: str | os.PathLike[str]) -> bool:
    return Path(path).suffix.lower() in VIDEO_EXTENSIONS


@dataclass(frozen=True)
class VideoInfo:
    duration_s: float  # 0 when the file does not say
    fps: float
    width: int
    height: int


@dataclass(frozen=True)
class Scene:
    index: int
    start_s: float
    end_s: float
    keyframe_s: float
    keyframe: Image.Image


@dataclass(frozen=True)
class SceneCaption:
    index: int
    start_s: float
    end_s: float
    keyframe_s: float
    text: str
    confidence: float


# --- reading ------------------------------------------------------------------------------


def _error(reason: str, name: str, message: str) -> ImageLoadError:
    return ImageLoadError(reason, f"Video {name}: {message}", name)


class _Video:
    """An open video file and its first video stream."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        import av

        self.name = Path(path).name
        try:
            st = os.stat(path)
        except FileNotFoundError:
            raise _error("missing", self.name, "no such file") from None
        except OSError as exc:
            raise _error("unreadable", self.name, f"cannot be read ({exc.strerror})") from None
        if not stat.S_ISREG(st.st_mode):  # a FIFO would block FFmpeg for ever
            raise _error("not_a_file", self.name,
                         f"is a {special_file_kind(st.st_mode)}, not a video file")
        if st.st_size == 0:
            raise _error("empty", self.name, "the file is empty")
        try:
            self.container = av.open(os.fspath(path), metadata_errors="ignore")
        except Exception as exc:  # FFmpeg's many error types, and ValueError/OSError
            raise _error("corrupt", self.name,
                         f"cannot be read as a video ({_reason(exc)})") from None
        streams = list(self.container.streams.video)
        if not streams:
            self.close()
            raise _error("not_an_image", self.name, "holds no video stream")
        self.stream = streams[0]
        self.stream.thread_type = "AUTO"
        self.info = self._info()
        if self.info.width * self.info.height > DEFAULT_MAX_PIXELS:
            self.close()
            raise _error("too_large", self.name, f"frames of {self.info.width}x"
                         f"{self.info.height} exceed the {DEFAULT_MAX_PIXELS // 1_000_000} "
                         "megapixel budget")

    def _info(self) -> VideoInfo:
        s = self.stream
        duration = 0.0
        if s.duration is not None and s.time_base is not None:
            duration = float(s.duration * s.time_base)
        elif self.container.duration is not None:
            duration = self.container.duration / 1_000_000
        rate = float(s.average_rate or s.guessed_rate or 0)
        ctx = s.codec_context
        return VideoInfo(max(0.0, duration), rate, int(ctx.width or 0), int(ctx.height or 0))

    def close(self) -> None:
        self.container.close()

    def frames(self, step: float, state: JobState) -> Iterator[tuple[float, Image.Image]]:
        """(time, picture) about every `step` seconds, at most MAX_SAMPLES of them."""
        if self.info.duration_s > LONG_VIDEO_S and self.stream.time_base is not None:
            yield from self._seeking(step, state)
        else:
            yield from self._in_order(step, state)

    def _in_order(self, step: float, state: JobState) -> Iterator[tuple[float, Image.Image]]:
        target, kept = 0.0, 0
        for n, frame in enumerate(self._decode()):
            if n >= MAX_DECODED or kept >= MAX_SAMPLES:
                return
            if n % 16 == 0:
                state.check()
            t = float(frame.time or 0.0)
            self.last_time = t
            if t + 1e-6 < target:
                continue
            yield t, _picture(frame)
            kept += 1
            target = t + step

    def _seeking(self, step: float, state: JobState) -> Iterator[tuple[float, Image.Image]]:
        base = self.stream.time_base or 1
        count = min(MAX_SAMPLES, int(self.info.duration_s / step) + 1)
        for k in range(count):
            state.check()
            target = k * step
            try:
                self.container.seek(int(target / base), stream=self.stream, backward=True)
            except Exception:  # noqa: BLE001 - a file that cannot seek ends the samples
                return
            for n, frame in enumerate(self._decode()):
                t = float(frame.time or 0.0)
                if t + 1e-6 >= target or n >= SEEK_DECODE_LIMIT:
                    self.last_time = t
                    yield t, _picture(frame)
                    break

    def _decode(self) -> Iterator[Any]:
        try:
            yield from self.container.decode(self.stream)
        except Exception as exc:  # truncated or damaged data: stop there, keep what we have
            if isinstance(exc, (KeyboardInterrupt, MemoryError)):
                raise
            self.damage = _reason(exc)

    damage: str = ""
    last_time: float = 0.0


def _reason(exc: BaseException) -> str:
    # FFmpeg's errors (and OSError) carry a plain reason; their str() adds "[Errno N]" and
    # the full path, which the message already names by its file name.
    plain = getattr(exc, "strerror", None)
    text = (plain if isinstance(plain, str) and plain.strip() else str(exc)).strip() \
        or type(exc).__name__
    return text[:200]


def _picture(frame: Any) -> Image.Image:
    w, h = frame.width, frame.height
    scale = min(1.0, KEYFRAME_SIDE / max(1, w, h))
    if scale < 1.0:
        frame = frame.reformat(width=max(2, int(w * scale)), height=max(2, int(h * scale)))
    return frame.to_image().convert("RGB")


def probe(path: str | os.PathLike[str]) -> VideoInfo:
    video = _Video(path)
    try:
        return video.info
    finally:
        video.close()


# --- scenes -------------------------------------------------------------------------------


def _signature(image: Image.Image) -> tuple[np.ndarray, np.ndarray]:
    grey = np.asarray(image.convert("L").resize((32, 32), Image.Resampling.BILINEAR),
                      np.float32) / 255.0
    rgb = np.asarray(image.resize((64, 64), Image.Resampling.NEAREST)).reshape(-1, 3) // 64
    hist = np.bincount(rgb[:, 0] * 16 + rgb[:, 1] * 4 + rgb[:, 2], minlength=64)
    return grey, hist / max(1, hist.sum())


def is_cut(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]) -> bool:
    """Whether two samples look like different scenes."""
    grey = float(np.abs(a[0] - b[0]).mean())
    hist = 0.5 * float(np.abs(a[1] - b[1]).sum())
    return grey > GREY_CUT or hist > HIST_CUT


def scenes(path: str | os.PathLike[str], state: Optional[JobState] = None,
           max_samples: int = MAX_SAMPLES,
           on_damage: Optional[Callable[[float, str], None]] = None) -> Iterator[Scene]:
    """The video's scenes, in order, each with its middle frame as keyframe.

    A file damaged partway keeps the scenes before the damage; `on_damage(seconds, reason)`
    is then told where the readable part ended and why (after the last scene)."""
    state = state or JobState()
    video = _Video(path)
    try:
        duration = video.info.duration_s
        step = max(MIN_STEP_S, duration / max(1, max_samples)) if duration else MIN_STEP_S
        count = 0
        for scene in _split(video.frames(step, state), duration, state, step):
            count += 1
            yield scene
        if not count:
            raise _error("truncated" if video.damage else "corrupt", video.name,
                         f"no frame could be decoded ({video.damage or 'no frames'})")
        if not video.damage and _ends_early(video.last_time, duration, step):
            video.damage = "the file ends before the length it states"
        if video.damage:
            log.warning("%s is damaged after %s (%s); scenes up to there are kept",
                        video.name, clock(video.last_time), video.damage)
            if on_damage is not None:
                on_damage(video.last_time, video.damage)
    finally:
        video.close()


def _ends_early(last_s: float, duration: float, step: float) -> bool:
    """Whether the frames stopped well short of the stated length (a cut-off download).
    Generous: container durations are estimates, and a sampled file's last sample is up to
    a step from the end."""
    return duration > 0 and last_s + 2 * step + 1.0 < 0.9 * duration


def _split(frames: Iterator[tuple[float, Image.Image]], duration: float, state: JobState,
           step: float) -> Iterator[Scene]:
    buffer: list[tuple[float, Image.Image]] = []
    start, last_sig, last_t, index = 0.0, None, 0.0, 0
    for t, image in frames:
        sig = _signature(image)
        if last_sig is not None and t - start >= MIN_SCENE_S and is_cut(last_sig, sig):
            yield _scene(index, start, t, buffer)
            index, start, buffer = index + 1, t, []
        buffer.append((t, image))
        if len(buffer) > SCENE_BUFFER:
            buffer = buffer[::2]  # a long scene: keep every other frame, the middle stays
        last_sig, last_t = sig, t
        if duration:
            state.progress(min(1.0, t / duration), f"Reading the video: {clock(t)}")
    if buffer:
        yield _scene(index, start, max(duration, last_t + step), buffer)


def _scene(index: int, start: float, end: float, buffer: Sequence[tuple[float, Image.Image]]
           ) -> Scene:
    middle = (start + end) / 2
    t, image = min(buffer, key=lambda item: abs(item[0] - middle))
    return Scene(index, start, end, t, image)


def caption_scenes(engine: Any, path: str | os.PathLike[str], state: Optional[JobState] = None,
                   on_scene: Optional[Callable[[SceneCaption, Scene], None]] = None
                   ) -> list[SceneCaption]:
    """One caption per scene, with the engine the app uses for pictures."""
    state = state or JobState()
    out = []
    for scene in scenes(path, state):
        cap = engine.caption(scene.keyframe)
        item = SceneCaption(scene.index, scene.start_s, scene.end_s, scene.keyframe_s,
                            cap.text, float(cap.confidence))
        out.append(item)
        if on_scene:
            on_scene(item, scene)
    return out


# --- subtitles ----------------------------------------------------------------------------


def clock(seconds: float, sep: str = ",") -> str:
    """Seconds as a subtitle time stamp: 3725.5 -> "01:02:05,500"."""
    ms = int(round(max(0.0, seconds) * 1000))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def _cue_text(text: str) -> str:
    # A blank line would end the cue early in both formats; "-->" would start a new one.
    return " ".join(text.split()).replace("-->", "->") or "…"


def to_srt(captions: Sequence[SceneCaption]) -> str:
    cues = [f"{n}\n{clock(c.start_s)} --> {clock(c.end_s)}\n{_cue_text(c.text)}\n"
            for n, c in enumerate(captions, 1)]
    return "\n".join(cues)


def to_vtt(captions: Sequence[SceneCaption]) -> str:
    cues = [f"{clock(c.start_s, '.')} --> {clock(c.end_s, '.')}\n{_cue_text(c.text)}\n"
            for c in captions]
    return "WEBVTT\n\n" + "\n".join(cues)


def record(c: SceneCaption) -> dict[str, Any]:
    return {"scene": c.index, "start": round(c.start_s, 3), "end": round(c.end_s, 3),
            "keyframe": round(c.keyframe_s, 3), "caption": c.text,
            "confidence": round(c.confidence, 4)}
