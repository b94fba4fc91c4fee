"""Privacy: access logs without bodies, and an opt-in question log with personal details removed."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from pathlib import Path

from .asgi import ASGIApp, Message, Receive, Scope, Send
from .schema import ChatReply

access_logger = logging.getLogger("hipbot.access")

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
PHONE = re.compile(r"(?<!\w)(\+?\d[\d\s().-]{7,}\d)(?!\w)")
NAME_INTRO = re.compile(
    r"\b((?i:my name is|i am called|i'm called|call me|this is|signed|regards,?|thanks,?)\s+)"
    r"([A-Z][a-z'’-]+(?:\s+[A-Z][a-z'’-]+)?)"
)
TITLED_NAME = re.compile(r"\b(Dr|Mr|Mrs|Ms|Miss|Prof)\.?\s+[A-Z][a-z'’-]+(?:\s+[A-Z][a-z'’-]+)?")


def scrub(text: str) -> str:
    """Replace emails, phone numbers and things that look like people's names."""
    text = EMAIL.sub("[email]", text)
    text = PHONE.sub("[phone]", text)
    text = NAME_INTRO.sub(lambda m: m.group(1) + "[name]", text)
    return TITLED_NAME.sub("[name]", text)


class AccessLog:
    """One line per request: method, path, status and milliseconds; never bodies or query strings."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            elapsed = (time.perf_counter() - started) * 1000
            access_logger.info("%s %s %d %.1fms", scope.get("method"), scope.get("path"), status, elapsed)


class QuestionLog:
    """Appends scrubbed questions and how they were handled to a JSON-lines file (off by default)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def record(self, message: str, reply: ChatReply) -> None:
        """Keep one question: its scrubbed text, scope, coverage, safety level and best passage score."""
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "question": scrub(message),
            "in_scope": reply.in_scope,
            "coverage": reply.coverage,
            "safety": reply.safety.level,
            "top_score": reply.passages[0].score if reply.passages else None,
        }
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as out:
                out.write(json.dumps(entry, ensure_ascii=False) + "\n")
