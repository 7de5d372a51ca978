"""Hugging Face-format pretrained backends loaded from local folders."""
