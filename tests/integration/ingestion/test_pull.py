"""Pulling a department API (the tax bureau's monthly tax-paid feed) from a local HTTP server started here."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlmodel import select

from core.adapters import (
    GovApiNotConfiguredError,
    GovApiResponseError,
    GovApiUnauthorizedError,
    GovApiUnavailableError,
)
from core.adapters.gov_api import HttpDepartmentApi
from core.config import get_settings
from core.db import session_scope
from core.models import GovRecord, ImportBatch
from core.services import ingestion, ingestion_pull, ingestion_sources
from tests.integration.ingestion.helpers import OPERATOR, data_counts, sample

TOKEN = "feed-token-123"
C14, C27 = "91131102MA0A1B2C14", "91131102MA0A1B2C27"


class FeedServer:
    """A paged JSON feed: ``records`` served ``page_size`` at a time; ``failures`` are answered first."""

    def __init__(self) -> None:
        self.records: list[dict] = []
        self.failures: list[tuple[int, bytes]] = []  # (status, body) answered before any page
        self.requests: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server API
                query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
                server.requests.append({"query": query, "auth": self.headers.get("Authorization")})
                if server.failures:
                    status, body = server.failures.pop(0)
                elif self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    status, body = 401, b'{"error": "unauthorized"}'
                else:
                    page, size = int(query["page"]), int(query["page_size"])
                    chunk = server.records[(page - 1) * size : page * size]
                    body = json.dumps({"page": page, "page_size": size, "total": len(server.records),
                                       "records": chunk}).encode()
                    status = 200
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/api/tax-paid"


@pytest.fixture
def feed() -> Iterator[FeedServer]:
    server = FeedServer()
    thread = threading.Thread(target=server.httpd.serve_forever, daemon=True)
    thread.start()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


@pytest.fixture
def configured(feed, monkeypatch):
    """Settings point the tax-paid feed at the local server; small pages, no waiting between retries."""
    monkeypatch.setenv("GOV_API_TAX_PAID_URL", feed.url)
    monkeypatch.setenv("GOV_API_TAX_PAID_TOKEN", TOKEN)
    monkeypatch.setenv("GOV_API_PAGE_SIZE", "2")
    monkeypatch.setenv("GOV_API_RETRIES", "2")
    monkeypatch.setenv("GOV_API_BACKOFF_SECONDS", "0")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    get_settings.cache_clear()
    return feed


@pytest.fixture
def registered(db):
    ingestion.import_department_file(actor=OPERATOR, source="market_enterprise", filename="m.csv",
                                     content=sample("market_enterprise_gbk.csv"))


def tax_records(n: int) -> list[dict]:
    return [{"credit_code": C14 if i % 2 else C27, "period": f"2026-{i:02d}", "tax_paid": 1000 + i}
            for i in range(1, n + 1)]


def pull(**kwargs):
    return ingestion_pull.pull_department(actor=OPERATOR, source="tax_paid_api", **kwargs)


def test_a_pull_reads_every_page_with_the_token_and_imports_the_records(configured, registered):
    configured.records = tax_records(5)
    report = pull()
    assert (report.status, report.channel, report.rows_read, report.rows_inserted) == ("done", "pull", 5, 5)
    assert [r["query"]["page"] for r in configured.requests] == ["1", "2", "3"]
    assert {r["auth"] for r in configured.requests} == {f"Bearer {TOKEN}"}
    assert "since" not in configured.requests[0]["query"]  # the first pull asks for everything
    with session_scope() as s:
        values = {(r.period, r.value) for r in s.exec(select(GovRecord).where(GovRecord.kind == "tax_paid"))}
    assert (date(2026, 3, 1), 1003.0) in values and len(values) == 5


def test_the_next_pull_asks_for_changes_since_the_last_one_and_the_same_data_changes_nothing(configured, registered):
    configured.records = tax_records(3)
    first = pull()
    configured.requests.clear()
    before = data_counts()
    again = pull()
    assert configured.requests[0]["query"]["since"] == first.started_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert again.status == "duplicate" and data_counts() == before


def test_a_500_is_retried_and_the_pull_then_succeeds(configured, registered):
    configured.records = tax_records(2)
    configured.failures = [(500, b"oops"), (503, b"busy")]
    report = pull()
    assert report.rows_inserted == 2
    assert len(configured.requests) == 3  # two failures, then the one page


def test_a_401_is_a_clear_error_and_nothing_is_written(configured, registered, monkeypatch):
    monkeypatch.setenv("GOV_API_TAX_PAID_TOKEN", "wrong-token")
    get_settings.cache_clear()
    configured.records = tax_records(4)
    before = data_counts()
    with pytest.raises(GovApiUnauthorizedError) as info:
        pull()
    assert "HTTP 401" in info.value.message("en") and "token" in info.value.message("en")
    assert len(configured.requests) == 1  # never retried
    assert data_counts() == before
    with session_scope() as s:
        failed = s.exec(select(ImportBatch).where(ImportBatch.channel == "pull")).one()
    assert failed.status == "failed" and failed.report["error"]["key"] == "ingest.pull.error.unauthorized"


def test_a_failure_on_a_later_page_writes_nothing_either(configured, registered):
    configured.records = tax_records(4)
    adapter_pages = iter([(200, None), (404, b"{}")])

    class Flaky(HttpDepartmentApi):
        def _get(self, client, params):
            status, _ = next(adapter_pages)
            if status != 200:
                return {"records": "not a list"}
            return super()._get(client, params)

    api = Flaky(mapping="tax_paid_api", url=configured.url, token=TOKEN, page_size=2, backoff=0)
    with pytest.raises(GovApiResponseError):
        pull(api=api)
    assert data_counts()["gov_record"] == 0


def test_invalid_json_and_a_server_that_stays_down_are_clear_errors(configured, registered):
    configured.failures = [(200, b"<html>maintenance</html>")]
    with pytest.raises(GovApiResponseError) as bad:
        pull()
    assert "not JSON" in bad.value.message("en")
    configured.failures = [(502, b"")] * 3
    with pytest.raises(GovApiUnavailableError) as down:
        pull()
    assert down.value.params["attempts"] == 3 and "HTTP 502" in down.value.message("en")
    assert data_counts()["gov_record"] == 0


def test_retries_back_off_exponentially(feed):
    feed.failures = [(500, b"")] * 3
    feed.records = []
    waits: list[float] = []
    api = HttpDepartmentApi(mapping="tax_paid_api", url=feed.url, token=TOKEN, retries=3, backoff=0.5,
                            sleep=waits.append)
    assert list(api.fetch(datetime(2026, 1, 1, tzinfo=UTC))) == []  # the fourth attempt: an empty feed
    assert waits == [0.5, 1.0, 2.0] and api.requests_made == 4
    assert feed.requests[-1]["query"]["since"] == "2026-01-01T00:00:00Z"


def test_an_unconfigured_source_cannot_be_pulled(db, monkeypatch):
    monkeypatch.delenv("GOV_API_TAX_PAID_URL", raising=False)
    get_settings.cache_clear()
    with pytest.raises(GovApiNotConfiguredError):
        pull()
    sources = {s.name: s for s in ingestion_sources.list_import_sources(actor=OPERATOR)}
    assert sources["tax_paid_api"].pullable and not sources["tax_paid_api"].configured
    assert not sources["tax_paid"].pullable


def test_an_empty_answer_is_a_finished_pull_with_nothing_new(configured, registered):
    report = pull()
    assert (report.status, report.rows_read) == ("done", 0)
