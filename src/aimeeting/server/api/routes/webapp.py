"""The web app's addresses (DECISIONS.md §9): ``/`` and a meeting's join link ``/m/<number>``
are the same single page, which reads the address itself; its files are under ``/app/``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from aimeeting.server.api.static import APP_DIRECTORY, RevalidatedFiles

router = APIRouter(include_in_schema=False)
files = RevalidatedFiles(APP_DIRECTORY)

# The page runs only its own files (no inline script or style, nothing from elsewhere), may not
# be framed (clickjacking), and sends no Referer (a join link holds a meeting number).
PAGE_HEADERS = {
    "Content-Security-Policy": "; ".join(
        (
            "default-src 'self'",
            "img-src 'self' data:",
            "media-src 'self' blob: mediastream:",
            "connect-src 'self'",  # its own REST and WebSocket (CSP 3: 'self' covers ws/wss)
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    ),
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",  # frame-ancestors for browsers that predate it
    "Permissions-Policy": "camera=(self), microphone=(self), display-capture=(self)",
}


@router.api_route("/", methods=["GET", "HEAD"])
@router.api_route("/m/{number}", methods=["GET", "HEAD"])
async def page(request: Request) -> Response:
    # A wrong number is the page's to explain (in the person's language), not a 404 here.
    response = await files.get_response("index.html", request.scope)
    response.headers.update(PAGE_HEADERS)
    return response
