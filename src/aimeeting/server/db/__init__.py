from aimeeting.server.db.engine import Database

__all__ = ["Database"]
