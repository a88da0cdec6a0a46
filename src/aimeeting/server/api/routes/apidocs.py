"""The API's docs page, Swagger UI at ``/v1/docs`` (DECISIONS.md §1), from the package's own
files (``static/docs/``, served at ``/v1/docs/assets/``): it works without internet, and its
CSP lets it load nothing from elsewhere. ``/docs`` and ``/v1`` lead there."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import HTMLResponse, RedirectResponse, Response

from aimeeting.server.api.routes import API_PREFIX
from aimeeting.server.api.static import STATIC

router = APIRouter(include_in_schema=False)

DOCS_PATH, OPENAPI_PATH = f"{API_PREFIX}/docs", f"{API_PREFIX}/openapi.json"
ASSETS_PATH, ASSETS_DIRECTORY = f"{DOCS_PATH}/assets", STATIC / "docs"

PAGE = f"""\
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>AI Meeting API</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{ASSETS_PATH}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-url="{OPENAPI_PATH}"></div>
<script src="{ASSETS_PATH}/swagger-ui-bundle.js"></script>
<script src="{ASSETS_PATH}/init.js"></script>
</body>
</html>
"""

# Scripts only from here (no inline script); styles may be inline (Swagger UI sets style
# attributes as it renders); requests only to this server ("Try it out").
PAGE_HEADERS = {
    "Content-Security-Policy": "; ".join(
        (
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data:",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    ),
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-cache",
}


@router.api_route(DOCS_PATH, methods=["GET", "HEAD"])
async def docs_page() -> Response:
    return HTMLResponse(PAGE, headers=PAGE_HEADERS)


# Where people look for the docs first. Temporary redirects (307): a browser does not keep
# them for ever, should one of these addresses mean something else one day.
@router.api_route("/docs", methods=["GET", "HEAD"])
@router.api_route("/docs/", methods=["GET", "HEAD"])
@router.api_route(API_PREFIX, methods=["GET", "HEAD"])
@router.api_route(f"{API_PREFIX}/", methods=["GET", "HEAD"])
async def to_docs() -> Response:
    return RedirectResponse(DOCS_PATH, status_code=307)
