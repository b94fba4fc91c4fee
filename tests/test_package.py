"""A real package: a wheel built from the repository and installed into a fresh virtual environment
answers with `hipbot ask` and serves the widget, the demo page and the docs with `hipbot serve`."""

from __future__ import annotations

import http.client
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from hipbot.bench import free_port, wait_for_health
from hipbot.config import REPO_ROOT

TORCH = "torch==2.13.0"  # the CPU build, installed first as in the Makefile


def clean_environment() -> dict[str, str]:
    """The environment without this checkout's virtual environment or import path."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHONPATH"))}


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with the wheel (and torch first) installed; its bin folder."""
    root = tmp_path_factory.mktemp("wheel")
    dist = root / "dist"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(dist),
            str(REPO_ROOT),
        ],
        check=True,
        capture_output=True,
        env=clean_environment(),
    )
    wheels = list(dist.glob("hipbot-*.whl"))
    assert len(wheels) == 1
    env_dir = root / "venv"
    venv.create(env_dir, with_pip=True)
    pip = [str(env_dir / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, TORCH], check=True, capture_output=True, env=clean_environment())
    subprocess.run([*pip, str(wheels[0])], check=True, capture_output=True, env=clean_environment())
    return env_dir / "bin"


@pytest.fixture()
def env(settings, bot, tmp_path: Path) -> dict[str, str]:
    index = tmp_path / "index"
    shutil.copytree(settings.index_dir, index, symlinks=True)
    return {
        **clean_environment(),
        "HIPBOT_CORPUS_DIR": str(REPO_ROOT / "corpus"),
        "HIPBOT_INDEX_DIR": str(index),
    }


def test_the_wheel_carries_the_widget_and_the_trained_triage(installed: Path) -> None:
    python = str(installed / "python")
    code = (
        "import hipbot.web as w, hipbot.triage.artifact as a; "
        "print(all((w.WIDGET_DIR / f).is_file() for f in ('widget.js', 'demo.html', 'demo.css')), "
        "(a.packaged_folder() / 'head.npz').is_file(), w.__file__)"
    )
    out = subprocess.run(
        [python, "-c", code], capture_output=True, text=True, check=True, env=clean_environment()
    ).stdout.split()
    assert out[:2] == ["True", "True"]
    assert "site-packages" in out[2]


def test_installed_ask_answers(installed: Path, env: dict[str, str]) -> None:
    done = subprocess.run(
        [str(installed / "hipbot"), "ask", "How should I sit with sciatica?"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "Sources" in done.stdout and "corpus/09-sciatica" in done.stdout


def test_installed_serve_serves_the_widget_and_docs(installed: Path, env: dict[str, str]) -> None:
    port = free_port()
    process = subprocess.Popen(
        [str(installed / "hipbot"), "serve", "--port", str(port)], env=env, stderr=subprocess.PIPE
    )
    try:
        wait_for_health(port, process)
        for path, kind in (("/", "text/html"), ("/widget.js", "text/javascript"), ("/docs", "text/html")):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            connection.request("GET", path)
            response = connection.getresponse()
            body = response.read()
            assert response.status == 200, (path, response.status)
            assert response.getheader("content-type", "").startswith(kind)
            assert body
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request("GET", "/docs/assets/swagger-ui-bundle.js")
        assert connection.getresponse().status == 200
    finally:
        process.terminate()
        process.wait(timeout=30)
