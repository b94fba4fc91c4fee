"""Faults against real processes: a killed build, a corrupt index, SIGTERM with requests in flight, a
slow client, and hostile input to the running server."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest

from hipbot.bench import free_port, wait_for_health
from hipbot.index import current_path, load_index


def hipbot(*args: str) -> list[str]:
    return [sys.executable, "-m", "hipbot", *args]


def post(port: int, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("POST", "/api/chat", body, {"Content-Type": "application/json", **(headers or {})})
    response = connection.getresponse()
    return response.status, json.loads(response.read() or b"{}")


@pytest.fixture(scope="module")
def server_env(settings, bot) -> dict[str, str]:
    return {
        **os.environ,
        "HIPBOT_INDEX_DIR": str(settings.index_dir),
        "HIPBOT_CORPUS_DIR": str(settings.corpus_dir),
        "HIPBOT_LOG_LEVEL": "WARNING",
    }


@pytest.fixture(scope="module")
def server(server_env) -> Iterator[int]:
    port = free_port()
    process = subprocess.Popen(hipbot("serve", "--port", str(port)), env=server_env, stderr=subprocess.PIPE)
    wait_for_health(port, process)
    yield port
    process.terminate()
    process.wait(timeout=30)


def test_killed_build_leaves_the_previous_index_usable(index_copy, server_env) -> None:
    env = {
        **server_env,
        "HIPBOT_CORPUS_DIR": str(index_copy.corpus_dir),
        "HIPBOT_INDEX_DIR": str(index_copy.index_dir),
    }
    before = load_index(index_copy.index_dir).manifest["built_at"]
    (index_copy.corpus_dir / "99-extra.md").write_text(
        "---\ntitle: X\nslug: x\nkind: article\n---\n\nHips and backs.\n"
    )
    build = subprocess.Popen(
        hipbot("index", "build"), env=env, stderr=subprocess.PIPE, stdout=subprocess.PIPE
    )
    time.sleep(6)  # model loaded, the build under way
    build.send_signal(signal.SIGKILL)
    build.wait(timeout=30)
    after = load_index(index_copy.index_dir)
    assert after.manifest["built_at"] == before
    assert after.vectors.ntotal == len(after.chunks)


def test_serve_refuses_a_corrupt_index_and_names_the_fix(index_copy, server_env) -> None:
    env = {
        **server_env,
        "HIPBOT_CORPUS_DIR": str(index_copy.corpus_dir),
        "HIPBOT_INDEX_DIR": str(index_copy.index_dir),
    }
    (current_path(index_copy.index_dir) / "chunks.jsonl").write_text("{broken\n")
    done = subprocess.run(
        hipbot("serve", "--port", str(free_port())), env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    assert "corrupt" in done.stderr and "hipbot index build" in done.stderr
    assert "Traceback" not in done.stderr


def test_sigterm_finishes_requests_in_flight(server_env) -> None:
    port = free_port()
    process = subprocess.Popen(hipbot("serve", "--port", str(port)), env=server_env, stderr=subprocess.PIPE)
    wait_for_health(port, process)
    results: list[int] = []

    def ask() -> None:
        try:
            results.append(
                post(port, json.dumps({"message": "why do my hips ache after driving?"}).encode())[0]
            )
        except OSError:
            results.append(-1)

    threads = [threading.Thread(target=ask) for _ in range(16)]
    for thread in threads:
        thread.start()
    time.sleep(0.02)
    process.send_signal(signal.SIGTERM)
    for thread in threads:
        thread.join()
    # uvicorn shuts down gracefully, then re-raises the signal, so the exit status may say SIGTERM.
    assert process.wait(timeout=30) in (0, -signal.SIGTERM)
    accepted = [status for status in results if status != -1]
    assert accepted and all(status == 200 for status in accepted)


def test_slow_client_does_not_block_others(server) -> None:
    body = json.dumps({"message": "how should I sit with sciatica?"}).encode()
    slow = socket.create_connection(("127.0.0.1", server))
    slow.sendall(
        b"POST /api/chat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body[:5]
    )
    for _ in range(5):  # a server held up by the half-sent request would time these out
        assert post(server, body)[0] == 200
    slow.sendall(body[5:])
    assert b"200" in slow.recv(100)
    slow.close()


def test_oversized_body_gets_413_without_being_read(server) -> None:
    # Only the headers are sent: the 413 comes back before a byte of the declared 10 MB body arrives.
    connection = socket.create_connection(("127.0.0.1", server))
    connection.sendall(
        b"POST /api/chat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 10000000\r\n\r\n"
    )
    connection.settimeout(10)
    reply = b""
    while b'"}}' not in reply and (chunk := connection.recv(4096)):
        reply += chunk
    connection.close()
    assert reply.startswith(b"HTTP/1.1 413")
    assert b'"body_too_large"' in reply


def test_streamed_body_is_cut_off_at_the_limit(client) -> None:
    def body():
        yield json.dumps({"message": "a" * 70000}).encode()

    response = client.post("/api/chat", content=body(), headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "body_too_large"


@pytest.mark.parametrize(
    "message",
    [
        "hip \x00\x07 pain \ud83d",
        "🙂🙂🙂",
        "Почему болит бедро?",
        "腰が痛い",
        "hip " * 500,
        "\u200b\u200bhip pain",
    ],
)
def test_odd_messages_get_a_sensible_reply(server, message: str) -> None:
    status, body = post(server, json.dumps({"message": message}, ensure_ascii=True).encode())
    assert status == 200
    assert body["answer"] and body["disclaimer"]


def test_several_workers_answer(server_env) -> None:
    port = free_port()
    process = subprocess.Popen(
        hipbot("serve", "--port", str(port), "--workers", "2"), env=server_env, stderr=subprocess.PIPE
    )
    try:
        wait_for_health(port, process)
        status, body = post(port, json.dumps({"message": "how do I stretch my hip flexors?"}).encode())
        assert status == 200 and body["passages"]
    finally:
        process.terminate()
        process.wait(timeout=30)
