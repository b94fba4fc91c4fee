"""Running it for a store, with real processes: articles added, changed and deleted under a running server
while clients keep asking; a broken article; settings that explain themselves; the CLI's edges."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from hipbot.bench import free_port, wait_for_health

NEW_ARTICLE = """---
title: Hip Pain on the Stairs
slug: hip-pain-stairs
kind: article
---

## Why do stairs hurt my hip?

Climbing stairs asks the glutes to lift your whole body weight with every step, and a weak gluteus medius
lets the pelvis drop on the stair-climbing side. Hold the banister and lead with the stronger leg going up.
"""
CHANGED_ARTICLE = NEW_ARTICLE.replace(
    "Hold the banister and lead with the stronger leg going up.",
    "Going down, lead with the sorer leg so that the stronger one lowers you: up with the good, down with the bad.",
)
QUESTION = "why do stairs make my hip hurt when I climb them?"
BROKEN = "title: no front matter fence here\n\nSome text.\n"


def hipbot(*args: str) -> list[str]:
    return [sys.executable, "-m", "hipbot", *args]


def request(port: int, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    payload = json.dumps(body).encode() if body is not None else None
    connection.request(method, path, payload, {"Content-Type": "application/json"})
    response = connection.getresponse()
    data = response.read()
    return response.status, json.loads(data) if data.startswith(b"{") else {}


def ask(port: int, question: str) -> dict:
    status, reply = request(port, "POST", "/api/chat", {"message": question})
    assert status == 200, reply
    return reply


@dataclass
class Load:
    """Clients asking steadily (a quarter of a second between replies, a busy shop's traffic rather
    than a benchmark that leaves the build no CPU), counting what went wrong."""

    port: int
    clients: int = 8
    errors: list[str] = field(default_factory=list)
    replies: int = 0
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        questions = ["how do I stretch my hip flexors?", "why does sitting cause sciatica?", "hi", QUESTION]

        def client(n: int) -> None:
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            i = n
            while not self.stop.is_set():
                body = json.dumps({"message": questions[i % len(questions)]}).encode()
                i += 1
                try:
                    connection.request("POST", "/api/chat", body, {"Content-Type": "application/json"})
                    response = connection.getresponse()
                    response.read()
                    if response.status != 200:
                        self.errors.append(f"status {response.status}")
                    self.replies += 1
                    self.stop.wait(0.25)
                except (OSError, http.client.HTTPException) as exc:
                    self.errors.append(repr(exc))
                    connection.close()
                    connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)

        self.threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(self.clients)]
        for thread in self.threads:
            thread.start()

    def finish(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=60)


@pytest.fixture()
def live_server(index_copy, tmp_path: Path) -> Iterator[tuple[int, Path, Path, Path]]:
    """A real `hipbot serve` on a writable copy of the corpus and of the session's index."""
    port = free_port()
    env = {
        **os.environ,
        "HIPBOT_CORPUS_DIR": str(index_copy.corpus_dir),
        "HIPBOT_INDEX_DIR": str(index_copy.index_dir),
        "HIPBOT_WATCH_SECONDS": "0.5",
        "HIPBOT_LOG_LEVEL": "INFO",
    }
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(hipbot("serve", "--port", str(port)), env=env, stdout=out, stderr=out)
    try:
        wait_for_health(port, process)
        yield port, index_copy.corpus_dir, index_copy.index_dir, log
    finally:
        process.terminate()
        process.wait(timeout=30)


def wait_until(check, seconds: float) -> float:
    """Poll until `check()` is true; the seconds it took (fails after `seconds`)."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if check():
            return time.monotonic() - started
        time.sleep(0.25)
    raise AssertionError(f"not within {seconds:.0f} s")


def build_seconds(port: int) -> float:
    """The last build's time as /health reports it (the watcher notes the build process's exit on its
    next half-second check, which may come just after the swap)."""
    time.sleep(1.2)
    _, health = request(port, "GET", "/health")
    index = health["index"]
    return max(float(index.get("build_seconds") or 0), float(index.get("background_build_seconds") or 0))


def cites(port: int, question: str, slug_file: str) -> bool:
    return any(slug_file in p["source"] for p in ask(port, question)["passages"])


def test_articles_added_changed_and_deleted_while_serving(live_server) -> None:
    port, corpus, _, log = live_server
    load = Load(port)
    load.run()
    try:
        _, before = request(port, "GET", "/health")
        assert before["status"] == "ok" and before["index"]["corpus_changed"] is False
        articles = before["index"]["articles"]

        (corpus / "12-hip-pain-stairs.md").write_text(NEW_ARTICLE, encoding="utf-8")
        took = wait_until(lambda: cites(port, QUESTION, "12-hip-pain-stairs.md"), 300)
        assert took <= build_seconds(port) + 5 + 2  # + the watcher's two half-second checks
        _, health = request(port, "GET", "/health")
        assert health["index"]["articles"] == articles + 1 and health["index"]["corpus_changed"] is False

        (corpus / "12-hip-pain-stairs.md").write_text(CHANGED_ARTICLE, encoding="utf-8")
        changed = lambda: "up with the good" in " ".join(p["text"] for p in ask(port, QUESTION)["passages"])  # noqa: E731
        took = wait_until(changed, 300)
        assert took <= build_seconds(port) + 7

        (corpus / "12-hip-pain-stairs.md").unlink()
        took = wait_until(lambda: not cites(port, QUESTION, "12-hip-pain-stairs.md"), 300)
        assert took <= build_seconds(port) + 7
    finally:
        load.finish()
    assert load.replies > 50
    assert load.errors == []
    assert "now answering from build" in log.read_text(encoding="utf-8")


def test_a_broken_article_is_left_out_and_reported(live_server) -> None:
    port, corpus, index, _ = live_server
    (corpus / "13-broken.md").write_text(BROKEN, encoding="utf-8")
    wait_until(lambda: request(port, "GET", "/health")[1]["status"] == "degraded", 300)
    _, health = request(port, "GET", "/health")
    problem = health["index"]["problems"][0]
    assert problem["file"] == "13-broken.md" and problem["line"] == 1 and "---" in problem["problem"]
    assert ask(port, "how do I stretch my hip flexors?")["passages"]  # still answering

    env = {**os.environ, "HIPBOT_CORPUS_DIR": str(corpus), "HIPBOT_INDEX_DIR": str(index)}
    (corpus / "14-bad-kind.md").write_text(
        "---\ntitle: Bad\nslug: bad\nkind: blogpost\n---\n\nText.\n", encoding="utf-8"
    )
    check = subprocess.run(hipbot("index", "check"), env=env, capture_output=True, text=True)
    assert check.returncode == 1
    assert "13-broken.md:1" in check.stderr and "14-bad-kind.md:4" in check.stderr
    assert "kind" in check.stderr and "article" in check.stderr  # what is wrong and what to use


@pytest.mark.parametrize(
    ("variable", "value", "words"),
    [
        ("HIPBOT_REGION", "FR", "US, UK"),
        ("HIPBOT_PORT", "99999", "65535"),
        ("HIPBOT_ALLOWED_ORIGINS", "shop.example", "https://shop.example"),
        ("HIPBOT_ALLOWED_ORIGINS", "https://shop.example/store", "has a path"),
    ],
)
def test_settings_errors_name_the_variable(settings, bot, variable, value, words) -> None:
    env = {**os.environ, "HIPBOT_INDEX_DIR": str(settings.index_dir), variable: value}
    done = subprocess.run(hipbot("serve", "--no-build"), env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert variable in done.stderr and words in done.stderr
    assert "Traceback" not in done.stderr and "EnvSettingsSource" not in done.stderr


def test_settings_read_as_people_type_them(settings, bot) -> None:
    from hipbot.config import make_settings

    env = {
        "HIPBOT_ALLOWED_ORIGINS": "https://shop.example/, HTTPS://WWW.Shop.example:443",
        "HIPBOT_REGION": "uk",
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        read = make_settings()
    finally:
        for k, v in saved.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
    assert read.allowed_origins == ["https://shop.example", "https://www.shop.example"]
    assert read.region == "UK"


def test_settings_come_from_hipbot_variables_in_any_case() -> None:
    from hipbot.config import Settings, environment_values

    environ = {"hipbot_top_k": "3", "HIPBOT_LOG_QUESTIONS": "yes", "HIPBOT_NOT_A_SETTING": "1", "TOP_K": "9"}
    values = environment_values(environ)
    assert values == {"top_k": "3", "log_questions": "yes"}
    read = Settings(**values)
    assert read.top_k == 3 and read.log_questions is True


def test_a_setting_ask_does_not_use_does_not_stop_it(settings, bot) -> None:
    env = {
        **os.environ,
        "HIPBOT_INDEX_DIR": str(settings.index_dir),
        "HIPBOT_CORPUS_DIR": str(settings.corpus_dir),
        "HIPBOT_ALLOWED_ORIGINS": "not an origin",
    }
    done = subprocess.run(
        hipbot("ask", "why do my hips hurt?"), env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "Sources" in done.stdout
    assert "HIPBOT_ALLOWED_ORIGINS" in done.stderr  # a warning, not an error


def test_serve_on_a_busy_port_says_so_before_starting(settings, bot) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = {
            **os.environ,
            "HIPBOT_INDEX_DIR": str(settings.index_dir),
            "HIPBOT_CORPUS_DIR": str(settings.corpus_dir),
        }
        done = subprocess.run(
            hipbot("serve", "--port", str(port)), env=env, capture_output=True, text=True, timeout=60
        )
    assert done.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr and "--port" in done.stderr
    assert "answering at" not in done.stderr


def test_unwritable_index_folder_fails_before_embedding(settings, bot) -> None:
    env = {**os.environ, "HIPBOT_CORPUS_DIR": str(settings.corpus_dir)}
    done = subprocess.run(
        hipbot("-v", "ask", "--index", "/proc/hipbot-index", "hips?"),
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1
    assert "cannot write the index to /proc/hipbot-index" in done.stderr
    assert "building the index" in done.stderr  # the verbose log is on, so the next two would show
    assert "loaded embedding model" not in done.stderr
    assert "embedding passages" not in done.stderr


def test_uppercase_md_articles_are_read(corpus_copy: Path) -> None:
    from hipbot.corpus import corpus_files

    (corpus_copy / "15-SHOUTY.MD").write_text(
        NEW_ARTICLE.replace("hip-pain-stairs", "shouty"), encoding="utf-8"
    )
    assert "15-SHOUTY.MD" in {p.name for p in corpus_files(corpus_copy)}
