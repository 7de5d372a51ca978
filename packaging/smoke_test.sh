#!/usr/bin/env bash
# Smoke test of the frozen build as a user gets it (`make package-test`).
#
# Unpacks the .deb into a temporary root and runs /opt/vlm-desktop/vlm-desktop from it with
# an empty HOME, a scrubbed environment, no network (a fresh network namespace when
# `unshare -n` is permitted) and QT_QPA_PLATFORM=offscreen:
#   1. --version          prints "vlm-desktop X.Y.Z"
#   2. --self-test        prints JSON with "ok": true
#   3. the GUI            opens a window, loads the model, closes itself (start-up probe)
#   4. a video           a generated three-scene clip captioned from the CLI, with SRT subtitles
#   5. Hugging Face models tiny random-weight BLIP, CLIP and Qwen2-VL folders (built with the
#                         project's Python from tests/hf_fixtures.py) imported, run from the
#                         CLI, and loaded by the GUI beside a separate catalog model
# Any stderr line not matched by packaging/stderr_allowlist.txt fails the test (in step 4
# also lines from transformers itself: tiny random configs make it warn).
# Also prints the time from exec to "window shown": cold (the app's files evicted from the
# page cache, empty HOME) and warm (run again at once).
set -euo pipefail

PYTHON=${PYTHON:-.venv/bin/python}
APP=vlm-desktop
VERSION=$("$PYTHON" -c 'import vlm_desktop; print(vlm_desktop.__version__)')
DEB=${DEB:-dist/${APP}_${VERSION}_amd64.deb}
ALLOW=packaging/stderr_allowlist.txt
TIMEOUT=${SMOKE_TIMEOUT:-600}

test -f "$DEB" || { echo "no $DEB; run 'make package' first" >&2; exit 1; }
TMP=$(mktemp -d -t vlm-desktop-smoke-XXXXXX)
KEEP_TMP=0
trap '[[ $KEEP_TMP == 1 ]] || rm -rf "$TMP"' EXIT
echo "unpacking $DEB into $TMP/root"
dpkg-deb -x "$DEB" "$TMP/root"
EXE=$TMP/root/opt/$APP/$APP
test -x "$EXE" || { echo "the .deb has no executable /opt/$APP/$APP" >&2; exit 1; }
grep -q "/opt/$APP/$APP" "$TMP/root/usr/bin/$APP" || { echo "launcher does not start /opt/$APP/$APP" >&2; exit 1; }

NET=()
if unshare -n true 2>/dev/null; then
    NET=(unshare -n)
    echo "network: none (unshare -n)"
else
    echo "WARNING: 'unshare -n' is not permitted here; running with the network present" >&2
fi

failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

# run NAME ARGS... : run the app in a clean environment; stdout/stderr land in $TMP/NAME.{out,err}
run() {
    local name=$1; shift
    local home=$TMP/home-${HOME_NAME:-$name}
    mkdir -p "$home"
    local rc=0
    env -i HOME="$home" PATH=/usr/bin:/bin LANG=C.UTF-8 QT_QPA_PLATFORM=offscreen \
        ${EXTRA_ENV:-} timeout "$TIMEOUT" "${NET[@]}" "$EXE" "$@" \
        >"$TMP/$name.out" 2>"$TMP/$name.err" || rc=$?
    check_stderr "$name"
    return $rc
}

check_stderr() {
    local unexpected
    unexpected=$(grep -v -E -f <(grep -v -E '^\s*(#|$)' "$ALLOW"; echo "${EXTRA_ALLOW:-^$}") \
        "$TMP/$1.err" || true)
    if [[ -n "$unexpected" ]]; then
        fail "$1: unexpected stderr:"
        printf '    %s\n' "$unexpected" | head -40 >&2
    fi
}

evict_page_cache() {
    # Cold start without root-wide cache drops: tell the kernel to forget only our files.
    "$PYTHON" - "$1" <<'EOF'
import os, sys
for d, _, files in os.walk(sys.argv[1]):
    for f in files:
        p = os.path.join(d, f)
        if os.path.islink(p):
            continue
        fd = os.open(p, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)
EOF
}

echo "== --version"
if run version --version; then
    grep -qx "$APP $VERSION" "$TMP/version.out" || fail "--version printed '$(cat "$TMP/version.out")'"
else
    fail "--version exited non-zero"
fi

echo "== --self-test"
if run selftest --self-test; then :; else fail "--self-test exited non-zero"; fi
"$PYTHON" - "$TMP/selftest.out" <<'EOF' || fail "--self-test report is not ok"
import json, sys
text = open(sys.argv[1]).read()
report = json.loads(text[text.index("{"):])
print(json.dumps({k: report.get(k) for k in ("ok", "frozen", "failed", "skipped", "timings_s")}, indent=1))
sys.exit(0 if report.get("ok") is True and report.get("frozen") is True else 1)
EOF

gui() {
    local name=$1 t0
    t0=$(date +%s.%N)
    HOME_NAME=gui EXTRA_ENV="VLM_DESKTOP_STARTUP_PROBE=1" run "$name" || fail "$name: GUI exited non-zero"
    "$PYTHON" - "$TMP/$name.out" "$t0" "$name" <<'EOF' || fail "$name: no window_shown / engine_ready events"
import json, sys
events = {}
for line in open(sys.argv[1]):
    if line.startswith("{"):
        record = json.loads(line)
        events.setdefault(record["event"], record)
t0 = float(sys.argv[2])
shown, ready = events.get("window_shown"), events.get("engine_ready")
if not shown or not ready:
    print(f"events seen: {sorted(events)}", file=sys.stderr)
    sys.exit(1)
print(f"{sys.argv[3]}: window shown {shown['t'] - t0:.2f} s after exec "
      f"(torch imported then: {shown['torch_imported']}), model ready {ready['t'] - t0:.2f} s")
EOF
}

echo "== GUI (cold: files evicted from the page cache, empty HOME)"
evict_page_cache "$TMP/root/opt/$APP"
gui gui-cold
echo "== GUI (warm: same HOME, files cached)"
gui gui-warm

echo "== video (three scenes of one colour each, captioned, SRT written)"
"$PYTHON" - "$TMP/clip.mp4" <<'EOF' || fail "could not make the test video"
import sys
from pathlib import Path
sys.path.insert(0, "tests")
import video_fixtures
video_fixtures.make_video(Path(sys.argv[1]), seconds=2)
EOF
if HOME_NAME=video run video caption "$TMP/clip.mp4" --srt "$TMP/clip.srt" --json; then
    "$PYTHON" - "$TMP/video.out" "$TMP/clip.srt" <<'EOF' || fail "video: scenes or subtitles wrong"
import json, sys
scenes = [json.loads(line) for line in open(sys.argv[1]) if line.startswith("{")]
cues = open(sys.argv[2], encoding="utf-8").read().count(" --> ")
print(f"video: {len(scenes)} scenes, {cues} SRT cues; first: {scenes[0].get('caption') if scenes else None!r}")
sys.exit(0 if len(scenes) == 3 and cues == 3 and all(s.get("caption") for s in scenes) else 1)
EOF
else
    fail "video: caption exited non-zero ($(tail -c 300 "$TMP/video.err"))"
fi

echo "== Hugging Face models (tiny, random weights)"
MODELS=$TMP/hf-models
"$PYTHON" - "$MODELS" <<'EOF' || fail "could not build the tiny models"
import shutil, sys
from pathlib import Path
sys.path.insert(0, "tests")
import hf_fixtures as fx
out = Path(sys.argv[1])
for name, folder in (("blip-caption", fx.blip_folder()), ("clip", fx.clip_folder()),
                     ("qwen2-vl", fx.qwen2_vl_folder())):
    shutil.copytree(folder, out / name)
fx.sample_image(64, 48).save(out / "photo.png")
EOF
export EXTRA_ALLOW='^\[transformers\] '
hf() {  # hf NAME ARGS...: one CLI call in the HF step's HOME
    local name=$1; shift
    HOME_NAME=hf run "$name" "$@" || fail "$name: exited non-zero ($(tail -c 300 "$TMP/$name.err"))"
}
for m in blip-caption clip qwen2-vl; do
    hf "import-$m" models import "$MODELS/$m" --name "$m-tiny"
done
hf default-embed models default embed clip-tiny
hf caption-blip caption "$MODELS/photo.png" --model blip-caption-tiny --json
hf ask-qwen ask "$MODELS/photo.png" "what is this?" --model qwen2-vl-tiny --json
for name in caption-blip ask-qwen; do
    grep -q '"model": "' "$TMP/$name.out" || fail "$name: no JSON result"
done
HOME_NAME=hf EXTRA_ENV="VLM_DESKTOP_STARTUP_PROBE=1" run gui-hf --model qwen2-vl-tiny \
    || fail "gui-hf: GUI exited non-zero"
grep -q '"event": "engine_ready"' "$TMP/gui-hf.out" || fail "gui-hf: the model never got ready"
unset EXTRA_ALLOW
echo "imported, captioned, answered and loaded in the GUI: blip-caption-tiny, clip-tiny, qwen2-vl-tiny"

if ((failures)); then
    KEEP_TMP=1
    echo "smoke test FAILED ($failures problems); outputs kept in $TMP" >&2
    exit 1
fi
echo "smoke test passed"
