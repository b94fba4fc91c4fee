"""Live content: the server keeps answering while the store's articles change.

A watcher thread checks, every `HIPBOT_WATCH_SECONDS` (and at once on SIGHUP), whether the corpus
differs from the index it serves and whether a newer build has been switched in. A changed corpus starts
`hipbot index build --if-stale` in a background process (niced; only one at a time, across workers and
servers, through a lock file). A new `current` build is loaded beside the serving one and swapped in with
one assignment, so requests in flight finish on the old index and no request waits for a build. Workers
and replicas sharing the index folder each pick up the new build on their next check.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from .assistant import Hipbot
from .config import Settings
from .corpus import CorpusError, corpus_hash
from .index import IndexUnavailable, current_path

logger = logging.getLogger(__name__)

LOCK_FILE = ".build.lock"


@contextmanager
def build_lock(index_dir: Path, wait: bool = True) -> Any:
    """The index folder's build lock (a file lock, so it also holds across processes); yields whether
    it was taken (always True when waiting)."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with (index_dir / LOCK_FILE).open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def build_id(index_dir: Path) -> str | None:
    """The name of the build `current` points to (None when there is none)."""
    with suppress(OSError):
        return os.readlink(current_path(index_dir))
    return None


class LiveBot:
    """The serving Hipbot, replaced when a new build appears; builds started when the corpus changes."""

    def __init__(self, settings: Settings, bot: Hipbot, build: bool = True) -> None:
        self.settings = settings
        self.bot = bot
        self.build = build
        self.serving = build_id(settings.index_dir)
        self.corpus_changed = False
        self.last_error: str | None = None
        self._builder: subprocess.Popen[bytes] | None = None
        self._build_started = 0.0
        # the last background build, from its start to answering from it (model load and reload included)
        self.background_build_seconds: float | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start watching (nothing happens when HIPBOT_WATCH_SECONDS is 0)."""
        if self.settings.watch_seconds <= 0 or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="hipbot-watch", daemon=True)
        self._thread.start()
        if threading.current_thread() is threading.main_thread():
            with suppress(ValueError, AttributeError):
                signal.signal(signal.SIGHUP, lambda *_: self._wake.set())

    def stop(self) -> None:
        """Stop watching and stop a build still running (the next start builds again if needed)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self.building() and self._builder is not None:
            # a build stopped halfway leaves the previous index in place; never leave one orphaned
            self._builder.terminate()
            with suppress(subprocess.TimeoutExpired):
                self._builder.wait(timeout=10)

    def check_now(self) -> None:
        """Ask the watcher to check at once (what SIGHUP does)."""
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.check()
            except Exception:  # the watcher must outlive any one failed check
                logger.exception("checking for new articles failed")
            self._wake.wait(self.settings.watch_seconds)
            self._wake.clear()

    def check(self) -> None:
        """Swap in a newer build if there is one; start a build if the corpus changed."""
        current = build_id(self.settings.index_dir)
        if current and current != self.serving:
            self._swap(current)
        try:
            changed = corpus_hash(self.settings.corpus_dir) != self.bot.index.manifest.get("corpus_hash")
        except CorpusError as exc:
            self.last_error = str(exc)
            return
        self.corpus_changed = changed
        if changed and self.build:
            self._start_build()

    def _swap(self, current: str) -> None:
        try:
            fresh = self.bot.reloaded()
        except IndexUnavailable as exc:
            self.last_error = str(exc)
            logger.warning("a new index build is not usable yet: %s", exc)
            return
        self.bot, self.serving = fresh, current
        if self._build_started:
            self.background_build_seconds = round(time.monotonic() - self._build_started, 2)
            self._build_started = 0.0
        self.last_error = None
        logger.info(
            "now answering from build %s: %s articles, %s passages",
            current,
            fresh.index.manifest.get("articles"),
            fresh.index.manifest.get("chunks"),
        )

    def building(self) -> bool:
        """Whether this process has a build running."""
        return self._builder is not None and self._builder.poll() is None

    def _start_build(self) -> None:
        if self.building():
            return
        with build_lock(self.settings.index_dir, wait=False) as free:
            if not free:
                return  # another worker or server is building
        # niced, so that answering keeps the CPU it needs while the build runs
        nice = ["nice", "-n", "10"] if shutil.which("nice") else []
        command = [*nice, sys.executable, "-m", "hipbot", "index", "build", "--if-stale"]
        env = {
            **os.environ,
            "HIPBOT_CORPUS_DIR": str(self.settings.corpus_dir),
            "HIPBOT_INDEX_DIR": str(self.settings.index_dir),
            "HIPBOT_MODEL": self.settings.model,
        }
        logger.info("the articles changed: building a new index in the background")
        self._build_started = time.monotonic()
        self._builder = subprocess.Popen(
            command,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def status(self) -> dict[str, Any]:
        """What /health reports about the content."""
        manifest = self.bot.index.manifest
        problems = list(manifest.get("problems") or [])
        degraded = bool(problems) or self.last_error is not None
        return {
            "status": "degraded" if degraded else "ok",
            "build": self.serving,
            "built_at": manifest.get("built_at"),
            "build_seconds": manifest.get("build_seconds"),
            # the whole background build as the server saw it: process start, build, reload
            "background_build_seconds": self.background_build_seconds,
            "articles": manifest.get("articles"),
            "chunks": manifest.get("chunks"),
            "corpus_changed": self.corpus_changed,
            "rebuilding": self.building(),
            "problems": problems,
            **({"error": self.last_error} if self.last_error else {}),
            "checked": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
