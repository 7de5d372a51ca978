"""An open video in the window: its scenes captioned as one job, the timeline, subtitles.

Opening a video submits one `Request("video", …)` to the model's queue. On the worker the
job reads the scenes (`core.video.scenes`, sampled, never decoded whole) and captions each
keyframe with the loaded engine; every captioned scene comes back as a job partial, so the
timeline fills while the job runs, and Cancel (Esc) stops it with the scenes so far kept.
Choosing a scene in the timeline makes its keyframe the document's image, with the caption
the engine gave it, so word heat maps and questions work on the frame shown.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from PIL import Image
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QImage
from PySide6.QtWidgets import QFileDialog, QWidget

from vlm_desktop.core import video
from vlm_desktop.core.cancel import JobState
from vlm_desktop.core.engine.protocol import Engine
from vlm_desktop.core.engine.types import Caption
from vlm_desktop.ui.caption_panel import CaptionPanel
from vlm_desktop.ui.image_document import ImageDocument
from vlm_desktop.ui.image_view import ImageView
from vlm_desktop.ui.message_bar import Level, MessageBar
from vlm_desktop.ui.video_timeline import VideoTimeline, short_clock
from vlm_desktop.workers.image_loader import pil_to_qimage
from vlm_desktop.workers.inference_worker import InferenceClient, Request
from vlm_desktop.workers.jobs import Job

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CaptionedScene:
    """One scene as the window keeps it: times, the engine's caption and the keyframe."""

    scene: video.SceneCaption
    caption: Caption
    keyframe: Image.Image
    frame: QImage  # display copy, made on the worker thread


@dataclass(frozen=True)
class VideoOutcome:
    """What the video job returns once every scene it could read is captioned."""

    captions: tuple[video.SceneCaption, ...]
    damaged_at: Optional[float] = None  # where a damaged file stopped being readable
    damage: str = ""


def caption_video(path: str, engine: Engine, state: JobState) -> VideoOutcome:
    """Runs on the model's thread: each scene's keyframe captioned, sent on as a partial."""
    done: list[video.SceneCaption] = []
    damage: list[tuple[float, str]] = []
    # The engine gets the job's token (Cancel stops a caption midway) but not its partials:
    # the job's partials are whole scenes, never a caption's streamed text.
    quiet = JobState(state.token)
    for scene in video.scenes(path, state,
                              on_damage=lambda at, reason: damage.append((at, reason))):
        state.check()
        state.progress(0.0, str(scene.index + 1))
        cap = engine.caption(scene.keyframe, quiet)
        state.check()
        item = video.SceneCaption(scene.index, scene.start_s, scene.end_s, scene.keyframe_s,
                                  cap.text, float(cap.confidence))
        state.partial(CaptionedScene(item, cap, scene.keyframe, pil_to_qimage(scene.keyframe)))
        done.append(item)
    if damage:
        return VideoOutcome(tuple(done), *damage[0])
    return VideoOutcome(tuple(done))


def video_dialog_filter() -> str:
    """The file dialog's name filter for videos: "*.mp4 *.mkv …" (the label is added by tr)."""
    return " ".join(f"*{e}" for e in sorted(video.VIDEO_EXTENSIONS))


class VideoController(QObject):
    """The video open in the window, if any, and the job captioning its scenes."""

    work_changed = Signal()  # the video job started or ended, or moved to another scene
    frame_shown = Signal(str)  # the label of the keyframe now the document's image
    opened = Signal(str)  # a video's first scene is shown: the path, for Open Recent

    def __init__(self, client: InferenceClient, document: ImageDocument, view: ImageView,
                 caption_panel: CaptionPanel, message_bar: MessageBar,
                 timeline: VideoTimeline, parent: QWidget) -> None:
        super().__init__(parent)
        self.client, self.document, self.view = client, document, view
        self.caption_panel, self.message_bar, self.timeline = caption_panel, message_bar, timeline
        self._window = parent
        self.path: Optional[str] = None  # the video shown in the timeline
        self._pending: Optional[str] = None  # the video being opened, until its first scene
        self.scenes: list[CaptionedScene] = []
        self.shown: Optional[int] = None  # index of the scene whose frame is shown
        self._job: Optional[Job] = None
        self._working_on = 0  # the scene being captioned (1-based), for the busy text
        self.export_action = QAction(self.tr("Export &Subtitles…"), parent)
        self.export_action.setToolTip(self.tr("Save the video's scene captions as SRT or "
                                              "WebVTT subtitles, with a JSON of timestamps"))
        self.export_action.setStatusTip(self.export_action.toolTip())
        self.export_action.setEnabled(False)
        self.export_action.triggered.connect(self.export_dialog)
        timeline.scene_chosen.connect(self.show_scene)

    # --- state -----------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        return self._job is not None

    def busy_text(self) -> str:
        """What the busy indicator says while the video's scenes are read and captioned."""
        if self._working_on:
            return self.tr("Scene {0}: captioning…").format(self._working_on)
        return self.tr("Reading the video…")

    # --- opening ---------------------------------------------------------------------------

    def open(self, path: str) -> Job:
        """Read and caption `path`'s scenes on the model's worker (supersedes a video running).

        As with images, what is shown stays until the new video's first scene is ready, and
        stays if the video cannot be read. Queued even while the model loads: the load runs
        first, and with no model at all the job fails with the worker's "No model is loaded."."""
        self.cancel()
        self._pending = path
        job = self.client.submit(Request(
            "video", lambda engine, state: caption_video(path, engine, state), topic="video"))
        self._job, self._working_on = job, 0
        job.progress.connect(lambda _f, scene: self._on_progress(job, scene))
        job.partial.connect(lambda item: self._on_scene(job, item))
        job.result.connect(lambda outcome: self._on_result(job, outcome))
        job.failed.connect(lambda message, details: self._on_failed(job, message, details))
        job.cancelled.connect(lambda: self._on_cancelled(job))
        job.finished.connect(lambda: self._on_finished(job))
        self.work_changed.emit()
        return job

    def close(self) -> None:
        """Forget the video (an image was opened): stop its job, hide the timeline."""
        self.cancel()
        self._job, self._pending = None, None
        self._forget()
        self.work_changed.emit()

    def _forget(self) -> None:
        self.path, self.scenes, self.shown = None, [], None
        self.timeline.clear_scenes()
        self.timeline.hide()
        self.export_action.setEnabled(False)

    def cancel(self) -> bool:
        """Stop captioning the scenes (Esc); the scenes so far stay. False when idle."""
        if self._job is None:
            return False
        self._job.cancel()
        return True

    # --- the job's signals (GUI thread) ----------------------------------------------------

    def _on_progress(self, job: Job, scene: str) -> None:
        if job is self._job and scene.isdigit():
            self._working_on = int(scene)
            self.work_changed.emit()

    def _on_scene(self, job: Job, item: object) -> None:
        if job is not self._job or not isinstance(item, CaptionedScene):
            return
        if self._pending is not None:  # the new video's first scene replaces the old one
            path, self._pending = self._pending, None
            self._forget()
            self.path = path
            self.timeline.show()
            self.opened.emit(path)
        self.scenes.append(item)
        s = item.scene
        self.timeline.add_scene(s.start_s, s.end_s, item.caption.text, item.frame)
        self.export_action.setEnabled(True)
        if self.shown is None:
            self.timeline.setCurrentRow(0)  # the first scene is shown as soon as it is ready

    def _on_result(self, job: Job, outcome: object) -> None:
        if job is self._job and isinstance(outcome, VideoOutcome) and outcome.damage:
            self.message_bar.show_message(
                self.tr("{name} is damaged after {time} ({reason}); the {count} scenes before "
                        "it are shown.").format(
                    name=Path(self.path or "").name, time=short_clock(outcome.damaged_at or 0),
                    reason=outcome.damage, count=len(self.scenes)), Level.WARNING)

    def _job_path(self) -> str:
        return self._pending or self.path or ""

    def _on_failed(self, job: Job, message: str, details: str) -> None:
        if job is self._job:
            name = Path(self._job_path()).name
            # A file the reader refused names itself ("Video a.mp4: …"); other failures
            # (the model's) are put in the video's name here.
            text = message if name and name in message else self.tr(
                "Could not caption the video {0}: {1}").format(name, message)
            self.message_bar.show_error(text, details)

    def _on_cancelled(self, job: Job) -> None:
        if job is self._job:
            name = Path(self._job_path()).name
            self.message_bar.show_message(
                self.tr("Stopped reading {0}.").format(name) if self._pending is not None
                else self.tr("Stopped: {0} scenes of {1} were captioned.").format(
                    len(self.scenes), name), Level.INFO)

    def _on_finished(self, job: Job) -> None:
        if job is self._job:
            self._job, self._working_on, self._pending = None, 0, None
            self.work_changed.emit()

    # --- the timeline ----------------------------------------------------------------------

    def show_scene(self, index: int) -> None:
        """Make scene `index`'s keyframe the current image, with its caption."""
        if not 0 <= index < len(self.scenes) or self.path is None:
            return
        item = self.scenes[index]
        self.shown = index
        if self.timeline.currentRow() != index:
            self.timeline.setCurrentRow(index)
        label = f"{Path(self.path).name} @ {short_clock(item.scene.keyframe_s)}"
        self.view.set_image(item.frame)
        self.document.set_image(item.keyframe, label)  # questions and maps are about it
        self.caption_panel.show_caption(item.caption)
        self.frame_shown.emit(label)
        self.work_changed.emit()

    # --- subtitles -------------------------------------------------------------------------

    def export_dialog(self) -> None:
        """File ▸ Export Subtitles…: SRT or WebVTT by the extension, and a JSON beside it."""
        if not self.scenes or self.path is None:
            return
        srt, vtt = self.tr("SubRip subtitles (*.srt)"), self.tr("WebVTT subtitles (*.vtt)")
        suggested = str(Path(self.path).with_suffix(".srt"))
        path, chosen = QFileDialog.getSaveFileName(self._window, self.tr("Export Subtitles"),
                                                   suggested, f"{srt};;{vtt}")
        if not path:
            return
        if Path(path).suffix.lower() not in (".srt", ".vtt"):
            path += ".vtt" if chosen == vtt else ".srt"
        self.export_to(path)

    def export_to(self, path: str) -> Optional[str]:
        """Write the subtitles to `path` and the scenes as JSON next to it; returns the JSON's
        path, or None when nothing could be written (the message bar says why)."""
        captions = [item.scene for item in self.scenes]
        write: Callable[..., str] = video.to_vtt if path.lower().endswith(".vtt") \
            else video.to_srt
        target = Path(path)
        json_path = target.with_suffix(".json")
        data = {"video": self.path, "scenes": [video.record(c) for c in captions]}
        try:
            target.write_text(write(captions), encoding="utf-8")
            json_path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n",
                                 encoding="utf-8")
        except OSError as exc:
            self.message_bar.show_error(self.tr("Could not save the subtitles: {0}")
                                        .format(exc.strerror or exc))
            return None
        self.message_bar.show_message(self.tr("Saved {0} and {1}").format(
            target.name, json_path.name), Level.INFO)
        return str(json_path)
