"""The storefront widget: serves `widget.js` and a demo store page, package data in `hipbot/widget/`."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI, Request, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

logger = logging.getLogger(__name__)

WIDGET_DIR = Path(__file__).resolve().parent / "widget"

# widget.js has an unversioned URL that stores paste into their pages, so caches keep it for a few
# minutes and then revalidate it with its ETag (a 304 costs a few bytes).
SCRIPT_CACHE = "public, max-age=300, stale-while-revalidate=86400"
PAGE_CACHE = "no-cache"


@dataclass(frozen=True)
class Asset:
    """A file of the widget folder served at a fixed path."""

    filename: str
    media_type: str
    cache_control: str


ASSETS: dict[str, Asset] = {
    "/widget.js": Asset("widget.js", "text/javascript; charset=utf-8", SCRIPT_CACHE),
    "/": Asset("demo.html", "text/html; charset=utf-8", PAGE_CACHE),
    "/demo.css": Asset("demo.css", "text/css; charset=utf-8", SCRIPT_CACHE),
}


def etag_for(content: bytes) -> str:
    """A strong ETag from the file's content."""
    return '"' + hashlib.sha256(content).hexdigest()[:32] + '"'


def asset_response(request: Request, path: Path, asset: Asset) -> Response:
    """The file with its content type, caching headers and ETag; 304 when the client's copy is current."""
    try:
        content = path.read_bytes()
    except FileNotFoundError:
        logger.warning("widget file missing: %s", path)
        raise StarletteHTTPException(404, f"{path.name} is missing from the widget folder") from None
    etag = etag_for(content)
    # Security headers (nosniff, CSP, Cross-Origin-Resource-Policy) come from the protection middleware.
    headers = {"Cache-Control": asset.cache_control, "ETag": etag}
    if_none_match = request.headers.get("if-none-match", "")
    client_tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    if etag in client_tags or "*" in client_tags:
        return Response(status_code=304, headers=headers)
    if request.method == "HEAD":
        headers["Content-Length"] = str(len(content))
        return Response(status_code=200, media_type=asset.media_type, headers=headers)
    return Response(content, media_type=asset.media_type, headers=headers)


def add_widget_routes(app: FastAPI, widget_dir: Path = WIDGET_DIR) -> None:
    """Serve `/widget.js`, the demo store page at `/` and its stylesheet from the widget folder."""
    if not widget_dir.is_dir():
        logger.warning("no widget folder at %s: /widget.js and the demo page are not served", widget_dir)
        return

    for url_path, asset in ASSETS.items():
        app.add_api_route(
            url_path,
            asset_endpoint(widget_dir / asset.filename, asset),
            methods=["GET", "HEAD"],
            include_in_schema=False,
            name=f"widget:{asset.filename}",
        )


def asset_endpoint(path: Path, asset: Asset) -> Callable[[Request], Response]:
    """A route handler serving one widget file."""

    def serve(request: Request) -> Response:
        return asset_response(request, path, asset)

    serve.__doc__ = f"Serve {asset.filename}."
    return serve
