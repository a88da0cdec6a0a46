"""The web app's addresses (DECISIONS.md §9): ``/`` and a meeting's join link ``/m/<number>``
are the same single page, which reads the address itself; its files are under ``/app/``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from aimeeting.server.api.static import APP_DIRECTORY, RevalidatedFiles

router = APIRouter(include_in_schema=False)
files = RevalidatedFiles(APP_DIRECTORY)


@router.api_route("/", methods=["GET", "HEAD"])
@router.api_route("/m/{number}", methods=["GET", "HEAD"])
async def page(request: Request) -> Response:
    # A wrong number is the page's to explain (in the person's language), not a 404 here.
    return await files.get_response("index.html", request.scope)
