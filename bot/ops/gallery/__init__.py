"""The gallery: what the bot posts, drawn as each chat client shows it, from the JSON
the real adapters sent (``python -m bot gallery``, and the inspector's previews)."""
