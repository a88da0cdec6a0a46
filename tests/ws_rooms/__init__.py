"""Rooms and seats, media state, WebRTC signaling, logout and shutdown over the real ``/v1/ws``
(docs/realtime.md; contract §2; DECISIONS.md §4, §5).

Every test drives real server processes over real HTTP and real WebSockets, on SQLite and on
PostgreSQL. Timing rules run on a dedicated server with a short reconnect grace.
"""
