"""The HTTP API: thin FastAPI routes over one Hipbot object, one JSON error shape."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from . import __version__
from .assistant import Hipbot
from .config import Settings, get_settings, limit_blas_threads
from .live import LiveBot
from .privacy import AccessLog, QuestionLog
from .protection import MAX_BODY_BYTES, BodySizeLimit, OriginPolicy, RateLimit, SecurityHeaders
from .schema import ChatReply, ChatRequest, ErrorBody
from .web import add_widget_routes

logger = logging.getLogger(__name__)


def error_body(
    status: int, code: str, message: str, details: list[dict[str, Any]] | None = None
) -> JSONResponse:
    """The one error shape: {"error": {"code", "message", "details"}}."""
    payload: dict[str, Any] = {"code": code, "message": message, "details": details or []}
    return JSONResponse({"error": payload}, status_code=status)


def describe_validation(exc: RequestValidationError) -> tuple[str, list[dict[str, Any]]]:
    """A readable sentence and a list of {field, problem} for each validation failure."""
    details = []
    for error in exc.errors():
        location = ".".join(str(part) for part in error.get("loc", ()) if part != "body") or "body"
        problem = str(error.get("msg", "is invalid")).removeprefix("Value error, ")
        if error.get("type") == "literal_error" and location.endswith("role"):
            problem = "role must be 'user' or 'assistant'"
        elif error.get("type") == "too_long" and location == "history":
            problem = "history may hold at most 20 earlier turns"
        details.append({"field": location, "problem": problem})
    message = "; ".join(f"{d['field']}: {d['problem']}" for d in details) or "the request body is invalid"
    return message, details


def get_bot(request: Request) -> Hipbot:
    """The application object serving now (replaced when a new index build is switched in)."""
    live: LiveBot = request.app.state.live
    return live.bot


BotDependency = Annotated[Hipbot, Depends(get_bot)]


def create_app(
    settings: Settings | None = None, bot: Hipbot | None = None, build: bool = True, watch: bool = True
) -> FastAPI:
    """Build the FastAPI app; the index is loaded (or built) at start-up unless a bot is given. With
    `watch`, the app follows changes to the corpus and new builds of the index while it runs."""
    settings = settings or get_settings()
    limit_blas_threads()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if app.state.live is None:
            app.state.live = LiveBot(settings, Hipbot.from_settings(settings, build=build), build=build)
        if watch:
            app.state.live.start()
        yield
        app.state.live.stop()

    app = FastAPI(
        title="hipbot",
        version=__version__,
        summary="Answers hip-pain questions from the store's articles, with cited passages.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.live = LiveBot(settings, bot, build=build) if bot is not None else None
    questions = QuestionLog(settings.question_log) if settings.log_questions else None
    # Added innermost first: access log, security headers, CORS, body limit, rate limit, then the app.
    if settings.rate_limit > 0:
        app.add_middleware(
            RateLimit,
            rate=settings.rate_limit,
            burst=settings.rate_burst,
            trusted_proxies=settings.trusted_proxies,
        )
    app.add_middleware(BodySizeLimit, max_bytes=MAX_BODY_BYTES)
    if settings.allowed_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.allowed_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type"],
            expose_headers=["Retry-After"],
        )
    app.add_middleware(OriginPolicy, allowed=settings.allowed_origins)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(AccessLog)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        message, details = describe_validation(exc)
        return error_body(422, "invalid_request", message, details)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed", 413: "body_too_large"}
        code = codes.get(exc.status_code, "http_error")
        return error_body(exc.status_code, code, str(exc.detail))

    @app.exception_handler(Exception)
    async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_body(500, "internal_error", "something went wrong on the server; please try again")

    errors: dict[int | str, dict[str, Any]] = {
        status: {"model": ErrorBody, "description": text}
        for status, text in ((413, "Body over 64 KiB"), (422, "Invalid request"), (429, "Rate limited"))
    }

    @app.post("/api/chat", response_model=ChatReply, responses=errors)
    def chat(body: ChatRequest, bot: BotDependency) -> ChatReply:
        """Answer a message, given the earlier turns of the conversation (oldest first)."""
        reply = bot.reply(body.message, body.history)
        if questions:
            questions.record(body.message, reply)
        return reply

    @app.get("/health")
    def health(request: Request) -> dict[str, Any]:
        """Liveness and content: ok or degraded (an article left out, a build that failed), the build
        served, its article count, and whether the corpus has changed since it was built."""
        live: LiveBot = request.app.state.live
        content = live.status()
        return {
            "status": content.pop("status"),
            "version": __version__,
            "index": {**live.bot.manifest_summary(), **content},
        }

    add_docs_routes(app)
    add_widget_routes(app)
    return app


DOCS_ASSETS = "/docs/assets"


def add_docs_routes(app: FastAPI) -> None:
    """/docs with Swagger UI served from the installed `swagger-ui-bundle-v2` package: no CDN needed."""
    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.staticfiles import StaticFiles
    from swagger_ui_bundle import swagger_ui_path

    app.mount(DOCS_ASSETS, StaticFiles(directory=swagger_ui_path), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title="hipbot API",
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS}/favicon-32x32.png",
        )
