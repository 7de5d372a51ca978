"""Qt widgets and dialogs. Never imports torch, transformers or faiss."""
