"""Package data: icons, the demo catalog and small model assets (loaded via importlib.resources)."""
