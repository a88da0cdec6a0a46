"""Lua pieces shared by the cluster's Redis scripts."""

from __future__ import annotations

# Sets ``now``: Redis's clock in ms. Every node reads time from Redis, not its own clock, so
# that deadlines and windows agree across nodes whose clocks differ.
NOW = "local t = redis.call('TIME') local now = t[1] * 1000 + math.floor(t[2] / 1000)\n"
