"""The limit and the peers: tiny servers running the same room fan-out as ours.

Same room semantics everywhere: a client joins a room of 4, and every chat message is broadcast
to everyone in the room, the sender included, as an event of the same shape and size as ours.
"""
