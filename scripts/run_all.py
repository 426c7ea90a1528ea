"""Start the whole platform locally: migrate, seed the demo data when empty, run every app.

Usage: ``python scripts/run_all.py [--replicas N] [--nginx] [--no-seed]``. Ctrl-C stops everything.
With ``--nginx`` (needs Debian's nginx) the apps also answer behind one nginx on ``NGINX_PORT`` with
sticky sessions across ``--replicas`` copies of each Streamlit app — the production topology in small.

Sign-in: the OpenID Connect provider (``apps/sso``, ``SSO_PORT``) starts first; every Streamlit
replica then gets its ``[auth]`` settings in a secrets file written here from the environment
(``write_auth_secrets``: client id and secret from ``core.auth.oidc.client_registration``, the
provider's discovery URL, the shared ``COOKIE_SECRET``, the replica's public ``redirect_uri``) into
``data/run/<app>/`` (gitignored, mode 0600) and passed with ``--secrets.files``. Nothing about
sign-in is read from a committed file. The wall prints the kiosk URL to open (``WALL_KIOSK_TOKEN``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from core.config import DATA_DIR, PROJECT_ROOT, get_settings
from core.db import reset_engine, session_scope, upgrade

STREAMLIT_APPS = ("enterprise", "bank", "regulator")
RUN_DIR = DATA_DIR / "run"
OIDC_PROVIDER = "jinfu"  # the named provider apps.common.auth signs in with: st.login("jinfu")
DEFAULT_DEMO_PASSWORD = "Demo-2026-jinfu"
# One demo account per app, shown at start (the seed numbers them: demo-<role>-<n>).
SAMPLE_ACCOUNTS = {
    "enterprise": "demo-enterprise_user-1",
    "bank": "demo-bank_officer-1",
    "regulator": "demo-regulator_analyst-1",
}


def _database_is_empty() -> bool:
    from core.models import Enterprise

    with session_scope() as session:
        return session.execute(select(func.count(Enterprise.id))).scalar_one() == 0


def _toml_str(value: str) -> str:
    # A JSON string is a valid TOML basic string (same escapes, \\uXXXX for the rest).
    return json.dumps(str(value), ensure_ascii=True)


def redirect_uri_for(app: str, port: int, base_path: str = "") -> str:
    """The public callback URL of one replica: ``APP_PUBLIC_URL_<APP>`` (what browsers open, e.g. behind
    nginx or HTTPS) plus ``/oauth2callback``, else the replica's own address."""
    public = os.environ.get(f"APP_PUBLIC_URL_{app.upper()}", "").strip()
    if public:
        return public.rstrip("/") + "/oauth2callback"
    path = f"/{base_path.strip('/')}" if base_path.strip("/") else ""
    return f"http://127.0.0.1:{port}{path}/oauth2callback"


def auth_secrets_toml(app: str, *, redirect_uri: str) -> str:
    """The ``[auth]`` secrets of one Streamlit app, from the environment (never from a committed file).

    ``APP_OIDC_PROMPT`` (default ``login``) is sent as the OIDC ``prompt``: every sign-in asks for the
    password (and TOTP), so a session the app expired cannot be renewed silently by the provider's.
    """
    from core.auth.oidc import OidcConfigurationError, client_registration, discovery_url

    registration = client_registration(f"jinfu-{app}")
    if registration.is_public:
        raise OidcConfigurationError(f"jinfu-{app} needs a client secret: st.login uses the code flow with one")
    if redirect_uri not in registration.redirect_uris:
        print(
            f"warning: {redirect_uri} is not a registered redirect URI of jinfu-{app}; "
            f"sign-in will be refused (set SSO_CLIENT_{app.upper()}_REDIRECT_URIS or SSO_CLIENTS)",
            file=sys.stderr,
        )
    scope = "openid profile email"
    prompt = os.environ.get("APP_OIDC_PROMPT", "login").strip()
    kwargs = f"{{ scope = {_toml_str(scope)}" + (f", prompt = {_toml_str(prompt)}" if prompt else "") + " }"
    return "\n".join(
        [
            f"# Written by scripts/run_all.py for jinfu-{app}; regenerated at every start. Do not commit.",
            "[auth]",
            f"redirect_uri = {_toml_str(redirect_uri)}",
            f"cookie_secret = {_toml_str(get_settings().cookie_secret)}",
            "",
            f"[auth.{OIDC_PROVIDER}]",
            f"client_id = {_toml_str(registration.client_id)}",
            f"client_secret = {_toml_str(registration.client_secret or '')}",
            f"server_metadata_url = {_toml_str(discovery_url())}",
            f"client_kwargs = {kwargs}",
            "",
        ]
    )


def write_auth_secrets(app: str, path: Path, *, redirect_uri: str) -> Path:
    """Write ``auth_secrets_toml`` to ``path`` (folder 0700, file 0600); return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(auth_secrets_toml(app, redirect_uri=redirect_uri))
    os.chmod(path, 0o600)
    return path


def register_redirect_uris(redirects: dict[str, list[str]]) -> None:
    """Let the provider (started with this environment) accept every replica's callback: sets
    ``SSO_CLIENT_<APP>_REDIRECT_URIS`` unless the operator configured the clients already."""
    if os.environ.get("SSO_CLIENTS", "").strip():
        return
    for app, uris in redirects.items():
        name = f"SSO_CLIENT_{app.upper()}_REDIRECT_URIS"
        if os.environ.get(name, "").strip():
            continue
        port = {"enterprise": "enterprise_port", "bank": "bank_port", "regulator": "regulator_port"}[app]
        base = getattr(get_settings(), port)
        defaults = [f"http://127.0.0.1:{base}/oauth2callback", f"http://localhost:{base}/oauth2callback"]
        os.environ[name] = ",".join(dict.fromkeys([*defaults, *uris]))


def sync_clients() -> int:
    """Register the configured OIDC clients in the database before the provider's workers boot."""
    from core.auth import SYSTEM_ACTOR
    from core.auth.oidc import client_registrations
    from core.services.identity import sync_oauth_clients

    return sync_oauth_clients(actor=SYSTEM_ACTOR, registrations=client_registrations())


def _streamlit_cmd(app: str, port: int, base_path: str, secrets_file: Path | None = None) -> list[str]:
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
        *(["--secrets.files", str(secrets_file)] if secrets_file else []),
    ]


def _port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


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


def _print_demo_accounts(jinfu_env: str) -> None:
    """One demo account per app, and how bank and regulator staff get their TOTP codes."""
    from core.services.identity import demo_totp_secret

    for app, subject in SAMPLE_ACCOUNTS.items():
        line = f"  {app:<11} {subject}"
        if app != "enterprise" and jinfu_env in {"development", "test"}:
            line += f"   TOTP secret {demo_totp_secret(subject)} (any authenticator app, or see README 'Sign-in')"
        print(line)


def _wall_hint(url: str, jinfu_env: str) -> str:
    """What to open for the wall: with the development kiosk token, or how to add the configured one."""
    if os.environ.get("WALL_KIOSK_TOKEN", "").strip():
        return f"Wall display: open {url}?kiosk=<WALL_KIOSK_TOKEN> once on each screen (then a cookie is kept)."
    if jinfu_env == "production":
        return "Wall display: WALL_KIOSK_TOKEN is not set, so the wall refuses to start."
    from apps.bigscreen.kiosk import development_token

    return f"Wall display (development kiosk token; set WALL_KIOSK_TOKEN for real use): {url}?kiosk={development_token()}"


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
        as_of = os.environ.get("SEED_AS_OF", "").strip() or "today"  # a visitor's demo lives around today
        print(f"The database is empty: loading the demo data (scripts/seed_demo.py --scale demo --as-of {as_of}) …")
        seeded = subprocess.run(
            [sys.executable, str(PROJECT_ROOT / "scripts" / "seed_demo.py"), "--database-url", settings.database_url,
             "--as-of", as_of],
            check=False,
        )
        if seeded.returncode != 0:
            return seeded.returncode
    else:
        print("Demo data already present; not seeding again.")
    if settings.jinfu_env != "production" and not args.no_seed:
        from core.auth import SYSTEM_ACTOR
        from core.services.identity import ensure_demo_credentials

        password = os.environ.get("DEMO_PASSWORD", DEFAULT_DEMO_PASSWORD)
        count = ensure_demo_credentials(actor=SYSTEM_ACTOR, password=password)
        print(f"{count} demo users can sign in; password: DEMO_PASSWORD (default {DEFAULT_DEMO_PASSWORD!r}).")
        _print_demo_accounts(settings.jinfu_env)

    RUN_DIR.mkdir(parents=True, exist_ok=True)
    behind_nginx = bool(args.nginx and shutil.which("nginx"))
    listen = int(os.environ.get("NGINX_PORT", "8080"))
    sso_port = int(os.environ.get("SSO_PORT", "8100"))
    os.environ.setdefault("SSO_ISSUER", f"http://127.0.0.1:{sso_port}")
    base_ports = {
        "enterprise": settings.enterprise_port,
        "bank": settings.bank_port,
        "regulator": settings.regulator_port,
    }
    upstreams = {app: [base_ports[app] + 10 * i for i in range(max(1, args.replicas))] for app in STREAMLIT_APPS}
    wanted_ports = [p for ports in upstreams.values() for p in ports] + [settings.bigscreen_port]
    wanted_ports += [sso_port] if os.environ.get("SSO_BUNDLED", "1") != "0" else []
    wanted_ports += [listen] if behind_nginx else []
    busy = [p for p in wanted_ports if _port_in_use(p)]
    if busy:
        print(
            f"error: port(s) {', '.join(map(str, busy))} already in use — is another `make run` still running? "
            "Stop it, or choose other ports (ENTERPRISE_PORT, BANK_PORT, REGULATOR_PORT, BIGSCREEN_PORT, SSO_PORT).",
            file=sys.stderr,
        )
        return 2

    def redirect_of(app: str, port: int) -> str:
        if behind_nginx and not os.environ.get(f"APP_PUBLIC_URL_{app.upper()}"):
            return f"http://127.0.0.1:{listen}/{app}/oauth2callback"
        return redirect_uri_for(app, port, app if behind_nginx else "")

    register_redirect_uris({app: [redirect_of(app, p) for p in ports] for app, ports in upstreams.items()})

    env = dict(os.environ)
    env["DATABASE_URL"] = settings.database_url
    env["STREAMLIT_SERVER_COOKIE_SECRET"] = settings.cookie_secret
    env.setdefault("CACHE_URL", settings.cache_url)
    processes: list[subprocess.Popen] = []
    urls: dict[str, str] = {}

    # The provider first: the apps' sign-in buttons lead there. Its clients are registered here, once,
    # so that its workers (which each sync them at boot) find nothing to insert and cannot race.
    # SSO_BUNDLED=0: an external provider (Keycloak, a government identity service) at SSO_ISSUER.
    if os.environ.get("SSO_BUNDLED", "1") != "0":
        sync_clients()
        processes.append(
            subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", str(PROJECT_ROOT / "apps" / "sso" / "gunicorn.conf.py"),
                 "apps.sso.wsgi:server"],
                cwd=PROJECT_ROOT,
                env={**env, "SSO_PORT": str(sso_port)},
            )
        )
        urls["sso"] = f"http://127.0.0.1:{sso_port}/"
        if not _wait_http(urls["sso"] + "healthz", timeout=60):
            print("warning: the sign-in provider did not answer within 60 s; starting the apps anyway", file=sys.stderr)
    else:
        print(f"Sign-in: the external provider at {os.environ.get('SSO_ISSUER')} (SSO_BUNDLED=0).")

    for app, ports in upstreams.items():
        for port in ports:
            secrets_file = write_auth_secrets(
                app, RUN_DIR / app / f"secrets-{port}.toml", redirect_uri=redirect_of(app, port)
            )
            processes.append(
                subprocess.Popen(
                    _streamlit_cmd(app, port, app if behind_nginx else "", secrets_file),
                    cwd=PROJECT_ROOT / "apps" / app,
                    env=env,
                )
            )
        urls[app] = f"http://127.0.0.1:{ports[0]}/" + (f"{app}/" if behind_nginx else "")
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
    # Ctrl-C must stop everything even when started where SIGINT was ignored (e.g. a background job).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        for name, url in urls.items():
            health = url + ("_stcore/health" if name in STREAMLIT_APPS else "healthz")
            ok = _wait_http(health)
            print(f"  {'✔' if ok else '✘'} {name:<22} {url}")
        print(_wall_hint(urls.get("bigscreen (nginx)") or urls["bigscreen"], settings.jinfu_env))
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
