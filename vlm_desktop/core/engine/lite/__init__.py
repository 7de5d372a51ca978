"""Built-in offline model: EfficientNet-Lite0 + MiniLM joined in one space."""
