"""Benchmarks: build time, in-process and HTTP latency, throughput, cold start and memory."""

from __future__ import annotations

import http.client
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from itertools import cycle, product
from pathlib import Path
from typing import Any

from .config import Settings

PARTS = ["hip", "lower back", "groin", "knee", "outer thigh", "hip flexor", "glute", "sciatic nerve"]
SITUATIONS = [
    "after a long drive",
    "when I sit at my desk",
    "after cycling",
    "during yoga",
    "after hip surgery",
    "when I run",
    "in pigeon pose",
    "first thing in the morning",
    "after dance class",
    "on a long flight",
]
FORMS = [
    "Why does my {part} hurt {when}?",
    "How can I ease {part} tightness {when}?",
    "{part} pain {when}, what helps?",
    "Which stretch is best for my {part} {when}?",
    "Is it normal for my {part} to feel tight {when}?",
    "What causes {part} aches {when}?",
]
OTHERS = [
    "What is a good recipe for pancakes?",
    "Will it rain tomorrow?",
    "Do I have bursitis?",
    "hip hook price?",
]


def benchmark_questions(limit: int = 480) -> list[str]:
    """Up to 484 distinct questions: body parts × situations × phrasings, plus a few off-topic ones."""
    made = [f.format(part=p, when=w) for f, p, w in product(FORMS, PARTS, SITUATIONS)]
    return [q[0].upper() + q[1:] for q in (made + OTHERS)][:limit]


def percentile(values: list[float], share: float) -> float:
    """The value below which `share` of the values fall (nearest rank)."""
    ordered = sorted(values)
    return (
        ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))] if ordered else float("nan")
    )


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    cpu = "unknown"
    with suppress(OSError, StopIteration):
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    memory_kib = 0
    with suppress(OSError, IndexError, ValueError):
        memory_kib = int(Path("/proc/meminfo").read_text().split()[1])
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(memory_kib / 1024 / 1024, 1),
        "python": platform.python_version(),
        "system": platform.platform(terse=True),
    }


def time_build(settings: Settings) -> dict[str, Any]:
    """Build a fresh index in a temporary folder and time it; then time the rebuild after one article
    gains a paragraph, as a store owner's edit would cause."""
    from .corpus import corpus_files
    from .embedding import SentenceTransformerEncoder
    from .index import build_index

    with tempfile.TemporaryDirectory() as folder:
        corpus = Path(folder) / "corpus"
        shutil.copytree(settings.corpus_dir, corpus)
        edited = settings.model_copy(update={"corpus_dir": corpus, "index_dir": Path(folder) / "index"})
        started = time.perf_counter()
        encoder = SentenceTransformerEncoder(settings.model)
        manifest = build_index(edited, encoder)
        seconds = round(time.perf_counter() - started, 2)
        article = next(iter(corpus_files(corpus)), None)
        if article is None:
            return {"seconds": seconds, "chunks": manifest["chunks"]}
        with article.open("a", encoding="utf-8") as out:
            out.write("\nA paragraph added after the first build, about easing hip pain on stairs.\n")
        started = time.perf_counter()
        again = build_index(edited, encoder)
        return {
            "seconds": seconds,
            "chunks": manifest["chunks"],
            "after_edit_seconds": round(time.perf_counter() - started, 2),
            "after_edit_embedded": again["embedded_texts"] - again["reused_vectors"],
        }


def in_process_latency(reply: Callable[[str], object], questions: list[str]) -> dict[str, float]:
    """Reply latency inside one process, after a warm-up."""
    for question in questions[:10]:
        reply(question)
    timings = []
    for question in questions:
        started = time.perf_counter()
        reply(question)
        timings.append((time.perf_counter() - started) * 1000)
    return summarize(timings, len(questions), 0, sum(timings) / 1000)


def summarize(timings_ms: list[float], count: int, errors: int, seconds: float) -> dict[str, float]:
    """p50/p95/p99 in milliseconds, throughput and errors."""
    return {
        "requests": count,
        "errors": errors,
        "p50_ms": round(percentile(timings_ms, 0.50), 2),
        "p95_ms": round(percentile(timings_ms, 0.95), 2),
        "p99_ms": round(percentile(timings_ms, 0.99), 2),
        "per_second": round(count / seconds, 1) if seconds else 0.0,
    }


def http_load(
    port: int,
    questions: list[str],
    concurrency: int,
    requests: int,
    seconds: float,
    allowed: tuple[int, ...] = (200,),
) -> dict[str, Any]:
    """`concurrency` keep-alive clients on loopback, until `requests` are done or `seconds` pass; a reply
    whose status is not in `allowed`, or no reply at all (status 0), is an error."""
    timings: list[float] = []
    errors = 0
    statuses: dict[int, int] = {}
    retry_after_missing = 0
    lock = threading.Lock()
    feed = iter(cycle(questions))
    deadline = time.perf_counter() + seconds
    sent = 0

    def client() -> None:
        nonlocal errors, sent, retry_after_missing
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.perf_counter() < deadline:
            with lock:
                if sent >= requests:
                    break
                sent += 1
                question = next(feed)
            body = json.dumps({"message": question})
            started = time.perf_counter()
            try:
                connection.request("POST", "/api/chat", body, {"Content-Type": "application/json"})
                response = connection.getresponse()
                response.read()
                status = response.status
                missing_retry = status == 429 and not response.getheader("Retry-After")
            except (OSError, http.client.HTTPException):
                status, missing_retry = 0, False
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            with lock:
                timings.append((time.perf_counter() - started) * 1000)
                statuses[status] = statuses.get(status, 0) + 1
                errors += status not in allowed
                retry_after_missing += missing_retry
        connection.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {
        "concurrency": concurrency,
        **summarize(timings, len(timings), errors, time.perf_counter() - started),
        "sent": sent,
        "dropped": sent - len(timings),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "retry_after_missing": retry_after_missing,
    }


def free_port() -> int:
    """An unused loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def peak_rss_mib(pid: int) -> float:
    """Peak resident memory of a running process (VmHWM), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def hipbot_command() -> list[str]:
    """How to run the hipbot CLI of this environment."""
    return [sys.executable, "-m", "hipbot"]


@dataclass
class Server:
    """A `hipbot serve` subprocess."""

    process: subprocess.Popen[bytes]
    port: int
    children: list[int] = field(default_factory=list)

    def peak_rss_mib(self) -> float:
        """Peak memory of the server process and its workers, the largest one."""
        pids = [self.process.pid, *self.children]
        return max(peak_rss_mib(pid) for pid in pids if Path(f"/proc/{pid}").exists())


def wait_for_health(port: int, process: subprocess.Popen[bytes], seconds: float = 120) -> None:
    """Wait until a starting server answers GET /health with 200; fail if it exits or takes too long."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with status {process.returncode} before answering")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/health")
            if connection.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"the server did not answer /health within {seconds:.0f} s")


@contextmanager
def running_server(env: dict[str, str], workers: int = 1) -> Iterator[Server]:
    """Start `hipbot serve` on a free loopback port, wait for /health, stop it afterwards."""
    port = free_port()
    command = [*hipbot_command(), "serve", "--port", str(port), "--workers", str(workers)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_health(port, process)
        children = [
            int(p) for p in Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
        ]
        yield Server(process, port, children)
    finally:
        process.terminate()
        process.wait(timeout=30)


# Runs `hipbot ask` in a fresh interpreter and reports that process's own peak memory (VmHWM).
_ASK_AND_REPORT = """
import sys
from pathlib import Path
from hipbot.cli import main
try:
    main(["ask", sys.argv[1]], standalone_mode=False)
finally:
    peak = next(l for l in Path("/proc/self/status").read_text().splitlines() if l.startswith("VmHWM:"))
    sys.stderr.write(peak.split()[1] + "\\n")
"""


def cold_ask(env: dict[str, str], question: str, runs: int = 3) -> dict[str, float]:
    """Wall time and peak memory of a new `hipbot ask` process, the index already built."""
    walls, peaks = [], []
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", _ASK_AND_REPORT, question],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        walls.append(time.perf_counter() - started)
        peaks.append(int(done.stderr.strip().splitlines()[-1]) / 1024)
    return {"wall_s_median": round(statistics.median(walls), 3), "peak_rss_mib": round(max(peaks), 1)}


def run_benchmark(
    settings: Settings, requests: int = 400, seconds: float = 20.0, workers: int = 1, build: bool = True
) -> dict[str, Any]:
    """Every figure, as one JSON-ready dictionary."""
    from .assistant import Hipbot

    env = {
        **os.environ,
        "HIPBOT_INDEX_DIR": str(settings.index_dir),
        "HIPBOT_CORPUS_DIR": str(settings.corpus_dir),
        "HIPBOT_ENCODER": settings.encoder,
        "HIPBOT_LOG_LEVEL": "WARNING",
        # Measure the full path: no reply may come from the cache of repeated questions.
        "HIPBOT_QUERY_CACHE_SIZE": "0",
    }
    questions = benchmark_questions()
    result: dict[str, Any] = {"machine": machine(), "encoder": settings.encoder}
    if build:
        result["build"] = time_build(settings)
    bot = Hipbot.from_settings(settings.model_copy(update={"query_cache_size": 0}))
    result["query_encoder"] = type(bot.encoder).__name__
    result["in_process"] = in_process_latency(bot.reply, questions[:300])
    del bot
    with running_server(env, workers) as server:
        result["http"] = [http_load(server.port, questions, c, requests, seconds) for c in (1, 8, 32)]
        result["server_peak_rss_mib"] = server.peak_rss_mib()
        result["workers"] = workers
    result["cold_ask"] = cold_ask(env, "Why do my hips hurt after a long drive?")
    result["errors"] = sum(row["errors"] for row in result["http"])
    return result


def render_table(result: dict[str, Any]) -> str:
    """The figures as a plain-text table."""
    m = result["machine"]
    lines = [
        f"machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, Python {m['python']}",
        f"query encoder: {result['query_encoder']} (setting {result['encoder']}), "
        f"workers: {result['workers']}",
    ]
    if "build" in result:
        build = result["build"]
        lines.append(f"index build: {build['seconds']} s for {build['chunks']} passages")
        if "after_edit_seconds" in build:
            lines.append(
                f"rebuild after an article edit: {build['after_edit_seconds']} s "
                f"({build['after_edit_embedded']} texts embedded, the rest reused)"
            )
    p = result["in_process"]
    lines.append(f"in-process reply: p50 {p['p50_ms']} ms, p95 {p['p95_ms']} ms, p99 {p['p99_ms']} ms")
    lines.append(
        f"{'concurrency':>12} {'requests':>9} {'errors':>7} {'p50 ms':>8} {'p99 ms':>8} {'replies/s':>10}"
    )
    for row in result["http"]:
        lines.append(
            f"{row['concurrency']:>12} {row['requests']:>9} {row['errors']:>7} {row['p50_ms']:>8} "
            f"{row['p99_ms']:>8} {row['per_second']:>10}"
        )
    lines.append(f"server peak RSS: {result['server_peak_rss_mib']} MiB")
    ask = result["cold_ask"]
    lines.append(
        f"cold `hipbot ask`: {ask['wall_s_median']} s wall (median), peak RSS {ask['peak_rss_mib']} MiB"
    )
    lines.append(f"errors: {result['errors']}")
    return "\n".join(lines)


def make_synthetic_corpus(source: Path, target: Path, copies: int) -> int:
    """Write `copies` variants of every article into `target` (distinct slugs), for scale tests."""
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    written = 0
    for path in sorted(source.glob("*.md")):
        text = path.read_text(encoding="utf-8")
        for n in range(copies):
            variant = text.replace("\nslug: ", f"\nslug: copy{n}-", 1).replace(
                "\ntitle: ", f"\ntitle: ({n}) ", 1
            )
            (target / f"{n:04d}-{path.name}").write_text(variant, encoding="utf-8")
            written += 1
    return written


def run_scale(settings: Settings, copies: int) -> dict[str, Any]:
    """Build an index over a corpus `copies` times larger and time the build and the queries."""
    from .assistant import Hipbot
    from .embedding import SentenceTransformerEncoder
    from .index import build_index

    with tempfile.TemporaryDirectory() as folder:
        corpus = Path(folder) / "corpus"
        articles = make_synthetic_corpus(settings.corpus_dir, corpus, copies)
        scaled = settings.model_copy(update={"corpus_dir": corpus, "index_dir": Path(folder) / "index"})
        started = time.perf_counter()
        manifest = build_index(scaled, SentenceTransformerEncoder(settings.model))
        seconds = time.perf_counter() - started
        bot = Hipbot.from_settings(scaled)
        latency = in_process_latency(bot.reply, benchmark_questions(200))
    return {
        "machine": machine(),
        "copies": copies,
        "articles": articles,
        "chunks": manifest["chunks"],
        "sentences": manifest["sentences"],
        "index_type": manifest["index_type"],
        "build_seconds": round(seconds, 1),
        "build_ms_per_chunk": round(seconds * 1000 / manifest["chunks"], 1),
        "in_process": latency,
    }


def render_scale(result: dict[str, Any]) -> str:
    """The scale figures as text."""
    p = result["in_process"]
    return "\n".join(
        [
            f"synthetic corpus: {result['copies']}x = {result['articles']} articles, "
            f"{result['chunks']} passages, "
            f"{result['sentences']} sentences",
            f"build: {result['build_seconds']} s ({result['build_ms_per_chunk']} ms per passage), "
            f"index type {result['index_type']}",
            f"in-process reply: p50 {p['p50_ms']} ms, p95 {p['p95_ms']} ms, p99 {p['p99_ms']} ms",
        ]
    )


def load_test(
    env: dict[str, str], clients: int = 64, seconds: float = 20.0, requests: int = 4000
) -> dict[str, Any]:
    """64 clients against a real server, then again with the rate limiter on (only 429s beyond the limit)."""
    questions = benchmark_questions()
    with running_server(env) as server:
        plain = http_load(server.port, questions, clients, requests, seconds)
    limited_env = {**env, "HIPBOT_RATE_LIMIT": "20", "HIPBOT_RATE_BURST": "40"}
    with running_server(limited_env) as server:
        limited = http_load(server.port, questions, clients, requests, seconds, allowed=(200, 429))
    return {"machine": machine(), "clients": clients, "plain": plain, "rate_limited": limited}
