"""AI Meeting: client SDK and shared protocol.

Importing this package loads none of the server's dependencies (FastAPI, SQLAlchemy, ...);
the server lives in :mod:`aimeeting.server`, installed with the ``server`` extra.
"""

from aimeeting.protocol import ErrorCode

__version__ = "0.1.0"

__all__ = ["ErrorCode", "__version__"]
