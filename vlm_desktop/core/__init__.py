"""Pure-Python core: images, devices, engines, catalog, explanations. Never imports Qt."""
