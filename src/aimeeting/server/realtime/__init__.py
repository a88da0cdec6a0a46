"""The realtime API (``/v1/ws``): connections, rooms, presence, chat and signaling."""
