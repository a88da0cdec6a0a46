"""Meeting summaries (docs/assistant.md): written when a meeting with a transcript ends."""
