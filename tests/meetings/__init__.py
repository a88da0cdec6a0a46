"""Meetings over the real REST API (contract §1, DECISIONS.md §1, §2, §4).

Every test drives a real server process over HTTP, on SQLite and on PostgreSQL.
"""
