"""Files served from the package itself (``static/``): the browser SDK at ``/sdk/`` and the web
app at ``/app/`` (DECISIONS.md §9), so a machine running the server needs no Node.js and no
CDN. Built from ``sdk-js/`` and ``web/``; CI proves the committed builds fresh."""

from __future__ import annotations

import hashlib
import mimetypes
import os
from pathlib import Path

from starlette.datastructures import Headers
from starlette.responses import FileResponse, Response
from starlette.staticfiles import NotModifiedResponse, StaticFiles
from starlette.types import Scope

STATIC = Path(__file__).resolve().parents[1] / "static"
SDK_PATH, SDK_DIRECTORY = "/sdk", STATIC / "sdk"
APP_PATH, APP_DIRECTORY = "/app", STATIC / "app"

# Fixed here rather than guessed: the system's MIME table may call .js application/javascript
# and not know .map at all.
_MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".map": "application/json",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
}


class RevalidatedFiles(StaticFiles):
    """Static files that a browser revalidates on every use (``no-cache``), with an ETag of
    their content.

    Starlette's own ETag is made of the file's mtime and size. Wheels are built reproducibly
    (every mtime the same), and a new release can keep a file's size (0.1.1 after 0.1.0): that
    ETag would tell browsers to keep the old SDK.
    """

    def __init__(self, directory: Path) -> None:
        super().__init__(directory=directory)
        self._etags: dict[str, tuple[tuple[int, ...], str]] = {}

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        path = os.fspath(full_path)
        response = FileResponse(
            path,
            status_code=status_code,
            stat_result=stat_result,
            media_type=_MEDIA_TYPES.get(Path(path).suffix) or mimetypes.guess_type(path)[0],
            headers={
                "Cache-Control": "no-cache",
                "ETag": self._etag(path, stat_result),
                "X-Content-Type-Options": "nosniff",
            },
        )
        if self.is_not_modified(response.headers, Headers(scope=scope)):
            return NotModifiedResponse(response.headers)
        return response

    def _etag(self, path: str, stat_result: os.stat_result) -> str:
        """The content's hash, read again only when the file changed (ctime moves on any write
        or replacement, and nobody can set it back)."""
        version = (
            stat_result.st_ino,
            stat_result.st_size,
            stat_result.st_mtime_ns,
            stat_result.st_ctime_ns,
        )
        known = self._etags.get(path)
        if known is None or known[0] != version:
            # A blocking read in the event loop, once per file version: the files are small.
            digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()[:32]
            known = self._etags[path] = (version, f'"{digest}"')
        return known[1]
