"""Videos: scenes found where the picture changes, subtitles valid and timed, bad files named."""

from __future__ import annotations

import json
import os
import re
import threading

import av
import pytest
from PIL import Image

from video_fixtures import BLUE, GREEN, RED, make_video

from vlm_desktop import cli
from vlm_desktop.core import video
from vlm_desktop.core.cancel import CancelToken, Cancelled, JobState
from vlm_desktop.core.engine.fake import FakeEngine
from vlm_desktop.core.images import ImageLoadError

def test_scenes_are_found_where_the_picture_changes(tmp_path):
    found = list(video.scenes(make_video(tmp_path / "v.mp4")))
    assert [round(s.start_s, 1) for s in found] == [0.0, 3.0, 6.0]
    assert found[-1].end_s == pytest.approx(9.0, abs=0.2)
    for scene, colour in zip(found, (RED, BLUE, GREEN)):
        assert scene.start_s < scene.keyframe_s < scene.end_s
        got = scene.keyframe.getpixel((2, 2))
        assert max(abs(a - b) for a, b in zip(got, colour)) < 30  # its own scene's frame


def test_a_long_video_is_sampled_by_seeking_with_the_same_scenes(tmp_path, monkeypatch):
    path = make_video(tmp_path / "v.mkv", seconds=4)
    in_order = [round(s.start_s) for s in video.scenes(path)]
    monkeypatch.setattr(video, "LONG_VIDEO_S", 1.0)  # as if it were two hours long
    seen = []
    real = video._Video._seeking

    def spy(self, step, state):
        for t, image in real(self, step, state):
            seen.append(t)
            yield t, image

    monkeypatch.setattr(video._Video, "_seeking", spy)
    assert [round(s.start_s) for s in video.scenes(path)] == in_order == [0, 4, 8]
    assert seen and len(seen) <= video.MAX_SAMPLES


def test_samples_are_bounded_whatever_the_length(tmp_path):
    path = make_video(tmp_path / "v.mp4", seconds=4)
    found = list(video.scenes(path, max_samples=4))  # about one sample every 3 s
    assert 1 <= len(found) <= 4


def test_srt_and_vtt_are_valid_and_timed(tmp_path):
    captions = video.caption_scenes(FakeEngine(), make_video(tmp_path / "v.mp4"))
    srt = video.to_srt(captions)
    blocks = srt.strip().split("\n\n")
    assert len(blocks) == 3
    stamp = r"(\d\d):(\d\d):(\d\d),(\d\d\d)"
    ends = []
    for n, block in enumerate(blocks, 1):
        index, times, text = block.split("\n")
        assert index == str(n) and text
        m = re.fullmatch(f"{stamp} --> {stamp}", times)
        assert m
        start = int(m[3]) + int(m[4]) / 1000
        end = int(m[7]) + int(m[8]) / 1000
        assert start < end and (not ends or start >= ends[-1])
        ends.append(end)
    for cap, colour in zip(captions, ("red", "blue", "green")):
        assert colour in cap.text  # each cue captions its own scene's keyframe
    vtt = video.to_vtt(captions)
    assert vtt.startswith("WEBVTT\n\n") and "00:00:03.000 --> 00:00:06.000" in vtt


def test_cue_text_cannot_break_the_subtitle_file():
    cap = video.SceneCaption(0, 0.0, 1.0, 0.5, "two\n\nlines --> and an arrow", 0.5)
    block = video.to_srt([cap]).strip().split("\n")
    assert len(block) == 3 and "-->" not in block[2]


def test_cancel_stops_reading(tmp_path):
    path = make_video(tmp_path / "v.mp4")
    token = CancelToken()
    state = JobState(token, on_progress=lambda f, _m: token.cancel() if f > 0.2 else None)
    with pytest.raises(Cancelled):
        video.caption_scenes(FakeEngine(), path, state)


@pytest.mark.parametrize("make,reason", [
    (lambda p: p.write_bytes(b""), "empty"),
    (lambda p: p.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 40), "corrupt"),
    (lambda p: p.write_bytes(os.urandom(4096)), "corrupt"),
])
def test_bad_files_give_one_error_naming_the_file(tmp_path, make, reason):
    path = tmp_path / "holiday.mp4"
    make(path)
    with pytest.raises(ImageLoadError) as err:
        list(video.scenes(path))
    assert "holiday.mp4" in str(err.value) and err.value.reason in (reason, "truncated")


def test_a_truncated_video_keeps_the_scenes_before_the_damage(tmp_path):
    path = make_video(tmp_path / "v.mkv", seconds=4)
    data = path.read_bytes()
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(data[: len(data) * 2 // 3])
    found = list(video.scenes(cut))
    assert 1 <= len(found) <= 3 and found[0].start_s == 0.0


def test_a_fifo_is_refused_without_hanging(tmp_path):
    fifo = tmp_path / "pipe.mp4"
    os.mkfifo(fifo)
    result: list[BaseException] = []
    worker = threading.Thread(target=lambda: _catch(result, lambda: list(video.scenes(fifo))),
                              daemon=True)
    worker.start()
    worker.join(10)
    assert not worker.is_alive(), "reading a FIFO hung"
    assert isinstance(result[0], ImageLoadError) and result[0].reason == "not_a_file"


def test_a_video_without_a_video_stream_is_named(tmp_path):
    path = tmp_path / "sound.mkv"
    out = av.open(str(path), "w")
    stream = out.add_stream("pcm_s16le", rate=8000)
    import numpy as np

    frame = av.AudioFrame.from_ndarray(np.zeros((1, 800), np.int16), format="s16",
                                       layout="mono")
    frame.sample_rate = 8000
    for packet in list(stream.encode(frame)) + list(stream.encode()):
        out.mux(packet)
    out.close()
    with pytest.raises(ImageLoadError, match="Video sound.mkv: holds no video stream"):
        list(video.scenes(path))


def _catch(out: list, fn) -> None:
    try:
        fn()
    except BaseException as exc:  # noqa: BLE001 - handed to the test
        out.append(exc)


def test_cli_captions_a_video_per_scene_and_writes_subtitles(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cli, "open_engine", lambda args, cap="caption": (FakeEngine(),
                                                                          _cpu()))
    path = make_video(tmp_path / "v.mp4")
    srt, vtt = tmp_path / "out.srt", tmp_path / "out.vtt"
    code = cli.main(["caption", str(path), "--srt", str(srt), "--vtt", str(vtt), "--json"])
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 0 and [o["scene"] for o in out] == [0, 1, 2]
    assert {"video", "start", "end", "caption", "confidence", "model"} <= set(out[0])
    assert "red" in out[0]["caption"] and "blue" in out[1]["caption"]
    assert srt.read_text().count(" --> ") == 3 and vtt.read_text().startswith("WEBVTT")


def test_cli_names_a_broken_video_and_goes_on(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cli, "open_engine", lambda args, cap="caption": (FakeEngine(),
                                                                          _cpu()))
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"not a video at all" * 10)
    good = tmp_path / "p.png"
    Image.new("RGB", (32, 32), RED).save(good)
    code = cli.main(["caption", str(bad), str(good), "--json"])
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 1 and "broken.mp4" in out[0]["error"] and "caption" in out[1]


def _cpu():
    from vlm_desktop.core.device import choose_device

    return choose_device("cpu")


def test_a_video_cut_off_early_is_reported_as_damaged(tmp_path):
    data = make_video(tmp_path / "v.mkv", seconds=4).read_bytes()
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(data[: len(data) // 2])  # the header still says 12 s
    damage: list[tuple[float, str]] = []
    found = list(video.scenes(cut, on_damage=lambda at, why: damage.append((at, why))))
    assert found and len(damage) == 1
    at, why = damage[0]
    assert found[-1].start_s <= at < 9.0 and why
    whole: list[tuple[float, str]] = []
    list(video.scenes(tmp_path / "v.mkv", on_damage=lambda at, why: whole.append((at, why))))
    assert whole == []  # an intact file is not called damaged
