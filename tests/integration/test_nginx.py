"""The real nginx configuration: routing by path, sticky sessions by cookie, WebSocket upgrade headers."""

from __future__ import annotations

import http.server
import json
import shutil
import subprocess
import threading
import urllib.request
from pathlib import Path

import pytest

from scripts import run_all
from tests.conftest import IN_CI
from tests.e2e.conftest import free_port, wait_http


def _nginx() -> str:
    path = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if not path:
        if IN_CI:
            pytest.fail("nginx is required under CI (make test installs it)")
        pytest.skip("nginx not installed")
    return path


class _Echo(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's naming
        body = json.dumps(
            {
                "port": self.server.server_address[1],
                "path": self.path,
                "upgrade": self.headers.get("Upgrade"),
                "connection": self.headers.get("Connection"),
                "forwarded_for": self.headers.get("X-Forwarded-For"),
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def balancer(tmp_path, monkeypatch):
    nginx = _nginx()
    backends = []
    for _ in range(5):  # two replicas for enterprise, one each for the others
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        backends.append(server)
    ports = [b.server_address[1] for b in backends]
    monkeypatch.setattr(run_all, "RUN_DIR", tmp_path)
    listen = free_port()
    conf = tmp_path / "nginx.conf"
    conf.write_text(
        run_all.render_nginx_conf(
            listen=listen,
            upstreams={"enterprise": ports[:2], "bank": [ports[2]], "regulator": [ports[3]]},
            bigscreen_port=ports[4],
        )
    )
    check = subprocess.run([nginx, "-t", "-p", str(tmp_path), "-c", str(conf)], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    process = subprocess.Popen([nginx, "-p", str(tmp_path), "-c", str(conf), "-g", "daemon off;"])
    try:
        wait_http(f"http://127.0.0.1:{listen}/nginx-health", timeout=20)
        yield listen, ports
    finally:
        process.terminate()
        process.wait(timeout=10)
        for b in backends:
            b.shutdown()


def _get(url: str, cookie: str | None = None, headers: dict | None = None):
    request = urllib.request.Request(url, headers={**(headers or {}), **({"Cookie": cookie} if cookie else {})})
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - local URL
        return json.loads(response.read()), response.headers


@pytest.mark.slow
def test_paths_route_to_their_app(balancer):
    listen, ports = balancer
    assert _get(f"http://127.0.0.1:{listen}/bank/x")[0]["port"] == ports[2]
    assert _get(f"http://127.0.0.1:{listen}/regulator/")[0]["port"] == ports[3]
    body, _ = _get(f"http://127.0.0.1:{listen}/bigscreen/_dash-layout")
    assert body["port"] == ports[4] and body["path"] == "/bigscreen/_dash-layout"


@pytest.mark.slow
def test_a_browser_sticks_to_one_replica_and_browsers_spread_over_both(balancer):
    listen, ports = balancer
    url = f"http://127.0.0.1:{listen}/enterprise/"
    _, headers = _get(url)
    assert "jinfu_lb=" in headers.get("Set-Cookie", "")
    seen_by_browser = {}
    for n in range(40):
        cookie = f"jinfu_lb=browser-{n}"
        first = {_get(url, cookie)[0]["port"] for _ in range(5)}
        assert len(first) == 1, "one browser must always reach the same replica"
        seen_by_browser[n] = first.pop()
    assert set(seen_by_browser.values()) == set(ports[:2]), "both replicas must receive browsers"
    # A browser that already has the cookie is not given a new one.
    _, again = _get(url, "jinfu_lb=browser-1")
    assert "jinfu_lb=" not in (again.get("Set-Cookie") or "")


@pytest.mark.slow
def test_websocket_upgrade_headers_are_forwarded(balancer):
    listen, _ = balancer
    body, _ = _get(
        f"http://127.0.0.1:{listen}/enterprise/_stcore/stream",
        headers={"Upgrade": "websocket", "Connection": "Upgrade"},
    )
    assert body["upgrade"] == "websocket"
    assert body["connection"].lower() == "upgrade"
    assert body["forwarded_for"] == "127.0.0.1"
