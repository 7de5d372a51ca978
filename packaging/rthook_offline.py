"""PyInstaller runtime hook: the frozen app never reaches for a model hub.

Runs before any app module is imported. The three flags are forced, not defaulted: an
installed copy is offline by design, whatever the user's shell exports.
"""

import os

for _flag in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
    os.environ[_flag] = "1"
# No telemetry pings from the Hugging Face libraries either.
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
