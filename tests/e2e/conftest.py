"""Browser fixtures: the four apps served for real against the seeded database, and one shared Chromium."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import IN_CI

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
STREAMLIT_APPS = ("enterprise", "bank", "regulator")
VIEWPORTS = {"desktop": {"width": 1440, "height": 900}, "phone": {"width": 390, "height": 844}}


def chromium_path() -> str | None:
    return shutil.which("chromium") or (shutil.which("chromium-browser"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - local URL
                if response.status == 200:
                    return
        except OSError as exc:
            last = exc
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f}s: {last}")


@pytest.fixture(scope="session")
def browser():
    """One headless Debian Chromium for the whole session, driven by Playwright."""
    path = chromium_path()
    if not path:
        if IN_CI:
            pytest.fail("Debian's chromium is required under CI (make test installs it)")
        pytest.skip("chromium not installed; run make system-deps")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            instance.close()


def _app_env(url: str, cache_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": url,
            "JINFU_ENV": "test",
            "SECRET_KEY": "e2e-secret-key-not-for-production",
            "COOKIE_SECRET": "e2e-cookie-secret-not-for-production",
            "STREAMLIT_SERVER_COOKIE_SECRET": "e2e-cookie-secret-not-for-production",
            "CACHE_URL": f"disk:{cache_dir}",
            "BIGSCREEN_WORKERS": "1",
        }
    )
    return env


@pytest.fixture(scope="session")
def served_apps(seeded_url, tmp_path_factory) -> Iterator[dict[str, str]]:
    """The three Streamlit apps and the Dash wall (under gunicorn), serving the seeded database."""
    env = _app_env(seeded_url, tmp_path_factory.mktemp("e2e-cache"))
    logs = tmp_path_factory.mktemp("e2e-logs")
    processes: list[subprocess.Popen] = []
    urls: dict[str, str] = {}
    try:
        for app in STREAMLIT_APPS:
            port = free_port()
            log = (logs / f"{app}.log").open("wb")
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
                     "--server.address", "127.0.0.1"],
                    cwd=ROOT / "apps" / app, env=env, stdout=log, stderr=subprocess.STDOUT,
                )
            )
            urls[app] = f"http://127.0.0.1:{port}/"
        port = free_port()
        log = (logs / "bigscreen.log").open("wb")
        processes.append(
            subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "apps/bigscreen/gunicorn.conf.py"),
                 "apps.bigscreen.wsgi:server"],
                cwd=ROOT, env={**env, "BIGSCREEN_PORT": str(port)}, stdout=log, stderr=subprocess.STDOUT,
            )
        )
        urls["bigscreen"] = f"http://127.0.0.1:{port}/"
        for app, url in urls.items():
            wait_http(url + ("_stcore/health" if app in STREAMLIT_APPS else ""))
        yield urls
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
