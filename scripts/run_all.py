"""Start the whole platform locally: migrate, seed the demo data when empty, run every app.

Usage: ``python scripts/run_all.py [--replicas N] [--nginx] [--no-seed]``. Ctrl-C stops everything.
With ``--nginx`` (needs Debian's nginx) the apps also answer behind one nginx on ``NGINX_PORT`` with
sticky sessions across ``--replicas`` copies of each Streamlit app — the production topology in small.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request

from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from core.config import DATA_DIR, PROJECT_ROOT, get_settings
from core.db import reset_engine, session_scope, upgrade

STREAMLIT_APPS = ("enterprise", "bank", "regulator")
RUN_DIR = DATA_DIR / "run"


def _database_is_empty() -> bool:
    from core.models import Enterprise

    with session_scope() as session:
        return session.execute(select(func.count(Enterprise.id))).scalar_one() == 0


def _streamlit_cmd(app: str, port: int, base_path: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "app.py",
        "--server.port",
        str(port),
        "--server.address",
        os.environ.get("BIND_ADDRESS", "127.0.0.1"),
        "--server.baseUrlPath",
        base_path,
    ]


def _wait_http(url: str, timeout: float = 90.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=3) as response:  # noqa: S310 - local URL
                if response.status < 500:
                    return True
        except OSError:
            time.sleep(0.5)
    return False


def render_nginx_conf(*, listen: int, upstreams: dict[str, list[int]], bigscreen_port: int) -> str:
    """The nginx config for this run, from ``deploy/nginx/jinfu.conf.template``."""
    template = (PROJECT_ROOT / "deploy" / "nginx" / "jinfu.conf.template").read_text(encoding="utf-8")
    blocks = []
    for app, ports in upstreams.items():
        servers = "\n".join(f"        server 127.0.0.1:{p} max_fails=2 fail_timeout=5s;" for p in ports)
        blocks.append(f"    upstream jinfu_{app} {{\n        hash $jinfu_sticky consistent;\n{servers}\n    }}")
    blocks.append(f"    upstream jinfu_bigscreen {{\n        server 127.0.0.1:{bigscreen_port};\n    }}")
    return (
        template.replace("{{UPSTREAMS}}", "\n".join(blocks))
        .replace("{{LISTEN}}", str(listen))
        .replace("{{RUN_DIR}}", str(RUN_DIR))
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicas", type=int, default=int(os.environ.get("APP_REPLICAS", "1")))
    parser.add_argument("--nginx", action="store_true", default=os.environ.get("RUN_NGINX", "") == "1")
    parser.add_argument("--no-seed", action="store_true")
    args = parser.parse_args(argv)

    settings = get_settings()
    print(f"Database: {settings.database_url.split('@')[-1]}")
    try:
        upgrade(settings.database_url)
        reset_engine()
        empty = _database_is_empty()
    except OperationalError as exc:
        print(f"error: cannot reach the database: {str(exc.orig).strip().splitlines()[0]}", file=sys.stderr)
        return 2
    if empty and not args.no_seed:
        print("The database is empty: loading the demo data (scripts/seed_demo.py --scale demo) …")
        seeded = subprocess.run(
            [sys.executable, str(PROJECT_ROOT / "scripts" / "seed_demo.py"), "--database-url", settings.database_url],
            check=False,
        )
        if seeded.returncode != 0:
            return seeded.returncode
    else:
        print("Demo data already present; not seeding again.")
    if settings.jinfu_env != "production" and not args.no_seed:
        from core.auth import SYSTEM_ACTOR
        from core.services.identity import ensure_demo_credentials

        password = os.environ.get("DEMO_PASSWORD", "Demo-2026-jinfu")
        count = ensure_demo_credentials(actor=SYSTEM_ACTOR, password=password)
        print(f"{count} demo users can sign in with the password in DEMO_PASSWORD (default {password!r}).")

    RUN_DIR.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env["DATABASE_URL"] = settings.database_url
    env["STREAMLIT_SERVER_COOKIE_SECRET"] = settings.cookie_secret
    env.setdefault("CACHE_URL", settings.cache_url)
    behind_nginx = args.nginx and shutil.which("nginx")
    processes: list[subprocess.Popen] = []
    urls: dict[str, str] = {}
    upstreams: dict[str, list[int]] = {}
    base_ports = {
        "enterprise": settings.enterprise_port,
        "bank": settings.bank_port,
        "regulator": settings.regulator_port,
    }
    for app in STREAMLIT_APPS:
        ports = [base_ports[app] + 10 * i for i in range(max(1, args.replicas))]
        upstreams[app] = ports
        for port in ports:
            processes.append(
                subprocess.Popen(
                    _streamlit_cmd(app, port, app if behind_nginx else ""),
                    cwd=PROJECT_ROOT / "apps" / app,
                    env=env,
                )
            )
        urls[app] = f"http://127.0.0.1:{ports[0]}/" + (f"{app}/" if behind_nginx else "")
    sso_port = int(os.environ.get("SSO_PORT", "8100"))
    processes.append(
        subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(PROJECT_ROOT / "apps" / "sso" / "gunicorn.conf.py"),
             "apps.sso.wsgi:server"],
            cwd=PROJECT_ROOT,
            env={**env, "SSO_PORT": str(sso_port)},
        )
    )
    urls["sso"] = f"http://127.0.0.1:{sso_port}/"
    processes.append(
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                str(PROJECT_ROOT / "apps" / "bigscreen" / "gunicorn.conf.py"),
                "apps.bigscreen.wsgi:server",
            ],
            cwd=PROJECT_ROOT,
            env={
                **env,
                "BIGSCREEN_PORT": str(settings.bigscreen_port),
                # Behind nginx the wall lives under /bigscreen/ on both sides of the proxy.
                **({"DASH_URL_BASE_PATHNAME": "/bigscreen/"} if behind_nginx else {}),
            },
        )
    )
    urls["bigscreen"] = f"http://127.0.0.1:{settings.bigscreen_port}/" + ("bigscreen/" if behind_nginx else "")
    if behind_nginx:
        listen = int(os.environ.get("NGINX_PORT", "8080"))
        conf = RUN_DIR / "nginx.conf"
        conf.write_text(
            render_nginx_conf(listen=listen, upstreams=upstreams, bigscreen_port=settings.bigscreen_port),
            encoding="utf-8",
        )
        processes.append(subprocess.Popen(["nginx", "-p", str(RUN_DIR), "-c", str(conf), "-g", "daemon off;"]))
        for app in (*STREAMLIT_APPS, "bigscreen"):
            urls[f"{app} (nginx)"] = f"http://127.0.0.1:{listen}/{app}/"

    def stop(*_args) -> None:
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()

    signal.signal(signal.SIGTERM, lambda *_: (stop(), sys.exit(0)))
    try:
        for name, url in urls.items():
            health = url + ("_stcore/health" if name in STREAMLIT_APPS else "healthz" if name == "sso" else "")
            ok = _wait_http(health)
            print(f"  {'✔' if ok else '✘'} {name:<22} {url}")
        print("All apps are running. Press Ctrl-C to stop.")
        while all(p.poll() is None for p in processes):
            time.sleep(1)
        failed = [p.args for p in processes if p.poll() not in (None, 0)]
        if failed:
            print(f"error: a process stopped unexpectedly: {failed[0]}", file=sys.stderr)
            return 1
    except KeyboardInterrupt:
        print("\nStopping …")
    finally:
        stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
