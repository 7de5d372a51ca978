"""Catalog import, SQLite store, vector index, search and recommendations."""
