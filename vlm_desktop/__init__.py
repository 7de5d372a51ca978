"""VLM Desktop: an offline vision-language desktop application."""

__version__ = "0.1.0"
APP_NAME = "VLM Desktop"
APP_ID = "vlm-desktop"
ORG_NAME = "VLM Desktop"
