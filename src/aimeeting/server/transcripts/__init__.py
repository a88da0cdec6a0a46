"""Transcripts: the final captions of a meeting, stored and paged (docs/assistant.md)."""
