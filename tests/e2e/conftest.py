"""Browser fixtures: the provider and the four apps served for real against a copy of the seeded database,
one shared Chromium, and ``sign_in`` — a page signed in through the provider as a given demo user.

The servers get their sign-in settings the way ``make run`` gives them: the provider (``apps/sso``) on a
free port with ``SSO_ISSUER`` matching, each app's ``[auth]`` secrets written by
``scripts.run_all.write_auth_secrets`` into a private folder and passed with ``--secrets.files``, the
demo users given ``DEMO_PASSWORD`` (and their TOTP secrets) with ``ensure_demo_credentials``.
The database is a copy of the session's seeded one, so sign-ins and their audit events never leak
into the tests that read the shared seeded database.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
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
DEMO_PASSWORD = "E2e-Demo-2026-pass"
KIOSK_TOKEN = "e2e-wall-kiosk-token-0123456789"
SECRET_KEY = "e2e-secret-key-not-for-production"
COOKIE_SECRET = "e2e-cookie-secret-not-for-production"
# Roles that must pass TOTP at the provider (core.services.identity.TOTP_REQUIRED_ROLES).
TOTP_SUBJECT = re.compile(r"^demo-(bank_|guarantee_|insurer_|regulator_|operator)")
SIGNIN_TIMES: dict[str, list[float]] = {}  # app → seconds from the click on 登录 to the signed-in page


def chromium_path() -> str | None:
    return shutil.which("chromium") or (shutil.which("chromium-browser"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, timeout: float = 120.0, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server for {url} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - local URL
                if response.status == 200:
                    return
        except (OSError, urllib.error.HTTPError) as exc:
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


def _app_env(
    url: str, cache_dir: Path, run_dir: Path, sso_port: int, ports: dict[str, int]
) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SSO_", "APP_PUBLIC_URL_", "APP_SESSION_", "APP_IDLE_", "APP_OIDC_", "WALL_"))
    }
    env.update(
        {
            "DATABASE_URL": url,
            "JINFU_ENV": "test",
            "SECRET_KEY": SECRET_KEY,
            "COOKIE_SECRET": COOKIE_SECRET,
            "STREAMLIT_SERVER_COOKIE_SECRET": COOKIE_SECRET,
            "CACHE_URL": f"disk:{cache_dir}",
            "BIGSCREEN_WORKERS": "1",
            "WALL_KIOSK_TOKEN": KIOSK_TOKEN,
            "DEMO_PASSWORD": DEMO_PASSWORD,
            "SSO_ISSUER": f"http://127.0.0.1:{sso_port}",
            "SSO_HOST": "127.0.0.1",
            "SSO_PORT": str(sso_port),
            "SSO_WORKERS": "2",
            "SSO_LOG_LEVEL": "warning",
            "SSO_SIGNING_KEY_FILE": str(run_dir / "sso-signing-key.pem"),
            # Cheap argon2 for the test accounts (the hash carries its parameters; both sides agree).
            "SSO_ARGON2_TIME_COST": "1",
            "SSO_ARGON2_MEMORY_KIB": "1024",
            "SSO_ARGON2_PARALLELISM": "1",
        }
    )
    for app, port in ports.items():
        env[f"SSO_CLIENT_{app.upper()}_REDIRECT_URIS"] = f"http://127.0.0.1:{port}/oauth2callback"
    return env


@pytest.fixture(scope="session")
def e2e_database(seeded_url, tmp_path_factory) -> str:
    """A private copy of the seeded database (the browser tests sign in, which writes)."""
    source = seeded_url.removeprefix("sqlite:///")
    target = tmp_path_factory.mktemp("e2e-db") / "jinfu-e2e.db"
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    return f"sqlite:///{target}"


def _start(cmd: list[str], *, cwd: Path, env: dict[str, str], log: Path) -> subprocess.Popen:
    handle = log.open("wb")
    return subprocess.Popen(cmd, cwd=cwd, env=env, stdout=handle, stderr=subprocess.STDOUT)


@pytest.fixture(scope="session")
def served_apps(e2e_database, tmp_path_factory) -> Iterator[dict[str, str]]:
    """The provider, the three Streamlit apps (signing in through it) and the Dash wall, serving a copy
    of the seeded database. Keys: the app names and ``sso``; values: base URLs ending in ``/``."""
    run_dir = tmp_path_factory.mktemp("e2e-run")
    logs = tmp_path_factory.mktemp("e2e-logs")
    sso_port = free_port()
    ports = {app: free_port() for app in STREAMLIT_APPS}
    env = _app_env(e2e_database, tmp_path_factory.mktemp("e2e-cache"), run_dir, sso_port, ports)
    prepared = subprocess.run(
        [sys.executable, "-m", "tests.e2e.auth_setup", str(run_dir), *(f"{a}={p}" for a, p in ports.items())],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert prepared.returncode == 0, prepared.stderr[-3000:]
    processes: list[subprocess.Popen] = []
    urls: dict[str, str] = {}
    try:
        sso = _start(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                str(ROOT / "apps/sso/gunicorn.conf.py"),
                "apps.sso.wsgi:server",
            ],
            cwd=ROOT,
            env=env,
            log=logs / "sso.log",
        )
        processes.append(sso)
        urls["sso"] = f"http://127.0.0.1:{sso_port}/"
        for app, port in ports.items():
            processes.append(
                _start(
                    [
                        sys.executable,
                        "-m",
                        "streamlit",
                        "run",
                        "app.py",
                        "--server.port",
                        str(port),
                        "--server.address",
                        "127.0.0.1",
                        "--secrets.files",
                        str(run_dir / app / "secrets.toml"),
                    ],
                    cwd=ROOT / "apps" / app,
                    env=env,
                    log=logs / f"{app}.log",
                )
            )
            urls[app] = f"http://127.0.0.1:{port}/"
        port = free_port()
        processes.append(
            _start(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "-c",
                    str(ROOT / "apps/bigscreen/gunicorn.conf.py"),
                    "apps.bigscreen.wsgi:server",
                ],
                cwd=ROOT,
                env={**env, "BIGSCREEN_PORT": str(port)},
                log=logs / "bigscreen.log",
            )
        )
        urls["bigscreen"] = f"http://127.0.0.1:{port}/"
        for (app, url), process in zip(urls.items(), processes, strict=True):
            wait_http(url + ("_stcore/health" if app in STREAMLIT_APPS else "healthz"), process=process)
        yield urls
    finally:
        for process in processes:
            # gunicorn stops at once on SIGINT (SIGTERM waits out its graceful timeout); Streamlit on SIGTERM.
            process.send_signal(signal.SIGINT if "gunicorn" in process.args else signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


# -- signing in through the provider ---------------------------------------------------------------


def totp_code(subject: str) -> str:
    """The demo user's current TOTP code (its secret is derived from the subject in development/test)."""
    import pyotp

    from core.services.identity import demo_totp_secret

    return pyotp.TOTP(demo_totp_secret(subject)).now()


@dataclass
class SignedIn:
    """A page signed in to one app, and how long the sign-in took end to end."""

    page: object
    seconds: float


SIGNIN_BUTTON = ".st-key-auth_signin button"
SIGNOUT_BUTTON = ".st-key-auth_signout button"


def sign_in(page, app_url: str, sso_url: str, subject: str, *, password: str = DEMO_PASSWORD) -> float:
    """Open ``app_url``, press 登录, sign in at the provider as ``subject`` (with TOTP where its role
    needs it) and wait until the app shows the signed-in frame; return the seconds from the click."""
    page.goto(app_url, wait_until="domcontentloaded")
    button = page.locator(SIGNIN_BUTTON)
    button.wait_for(state="visible")
    started = time.perf_counter()
    button.click()
    page.wait_for_url(f"{sso_url.rstrip('/')}/login*")
    page.fill("#f-identifier", subject)
    page.fill("#f-password", password)
    page.locator("form button[type=submit]").click()
    if TOTP_SUBJECT.match(subject):
        page.wait_for_url("**/login/totp*")
        page.fill("#f-code", totp_code(subject))
        page.locator("form button[type=submit]").click()
    page.wait_for_url(f"{app_url.rstrip('/')}/**")
    page.locator(f"{SIGNOUT_BUTTON}, .st-key-auth_wrong_signout button").first.wait_for(state="attached")
    return time.perf_counter() - started


@pytest.fixture
def page_at(browser):
    """``page_at(viewport, locale)``: a fresh browser context (own cookies) and page at that size."""
    contexts = []

    def open_page(viewport: str, locale: str = "zh-CN"):
        context = browser.new_context(viewport=VIEWPORTS[viewport], locale=locale, device_scale_factor=1)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(45_000)
        return page

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def signed_in(served_apps, page_at):
    """``signed_in(app, subject, viewport="desktop")``: a page signed in to ``app`` as demo user ``subject``."""

    def open_signed_in(app: str, subject: str, viewport: str = "desktop") -> SignedIn:
        page = page_at(viewport)
        seconds = sign_in(page, served_apps[app], served_apps["sso"], subject)
        SIGNIN_TIMES.setdefault(app, []).append(seconds)
        return SignedIn(page, seconds)

    return open_signed_in


def pytest_terminal_summary(terminalreporter) -> None:
    """Print the measured end-to-end sign-in times per app."""
    if not SIGNIN_TIMES:
        return
    terminalreporter.section("sign-in time end to end (click on 登录 → signed-in app)")
    for app, times in sorted(SIGNIN_TIMES.items()):
        ordered = sorted(times)
        terminalreporter.write_line(
            f"{app:<11} n={len(times):<2} median {ordered[len(ordered) // 2]:.2f} s"
            f"  min {ordered[0]:.2f} s  max {ordered[-1]:.2f} s"
        )
