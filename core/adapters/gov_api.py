"""The HTTP pull adapter for department feeds (JSON over HTTP, paged, bearer token), and the feeds configured.

The protocol a feed speaks (the tax bureau's monthly tax-paid feed is the first one):

``GET <url>?page=1&page_size=500[&since=2026-11-01T00:00:00Z]`` with ``Authorization: Bearer <token>``
answers ``{"page": 1, "page_size": 500, "total": 1234, "records": [{...}, ...]}``. Pages are read until a
page is empty, shorter than ``page_size``, or ``page * page_size >= total``.

A 5xx answer or a network error is retried with exponential backoff; a 401/403 or another 4xx fails at
once with a clear error, as does an answer that is not JSON or has no list of records. The adapter only
reads: it never writes anything, so a failed pull leaves no trace in the data.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx2 as httpx

from core.adapters import (
    GovApiNotConfiguredError,
    GovApiRequestError,
    GovApiResponseError,
    GovApiUnauthorizedError,
    GovApiUnavailableError,
    Record,
)
from core.config import Settings

MAX_PAGES = 100_000  # a feed that never ends is refused rather than followed forever


@dataclass(frozen=True)
class FeedSpec:
    """A configured feed: the import mapping its records are read with and the settings naming its endpoint."""

    mapping: str
    url_setting: str
    token_setting: str


# The department feeds the platform can pull, by import-mapping name.
FEEDS: dict[str, FeedSpec] = {
    "tax_paid_api": FeedSpec("tax_paid_api", "gov_api_tax_paid_url", "gov_api_tax_paid_token"),
}


def _host(url: str) -> str:
    return urlsplit(url).netloc or url


class HttpDepartmentApi:
    """A paged JSON feed over HTTP with a bearer token, timeouts and retries (a :class:`DepartmentApi`)."""

    def __init__(
        self,
        *,
        mapping: str,
        url: str,
        token: str = "",
        page_size: int = 500,
        timeout: float = 10.0,
        retries: int = 3,
        backoff: float = 0.5,
        records_key: str = "records",
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """A feed at ``url``.

        Args:
            mapping: the import mapping the records are read with.
            url: the feed's endpoint (query parameters are added per page).
            token: the bearer token (sent only when not empty).
            page_size: records asked for per page.
            timeout: seconds for connecting and for each read.
            retries: extra attempts after a 5xx answer or a network error.
            backoff: seconds before the first retry; doubled for each further one.
            records_key: the member of the answer holding the page's records.
            transport: an httpx transport (tests); the default opens real connections.
            sleep: how to wait between attempts (tests pass a no-op).
        """
        if not url:
            raise GovApiNotConfiguredError(source=mapping)
        self.mapping = mapping
        self.url = url
        self.token = token
        self.page_size = page_size
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.records_key = records_key
        self.transport = transport
        self.sleep = sleep
        self.requests_made = 0  # attempts, retries included (reported in the import's timings)

    def fetch(self, since: datetime | None) -> Iterator[list[Record]]:
        """Yield each page's records, in order; raise a ``GovApiError`` subclass when the feed fails."""
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        with httpx.Client(timeout=self.timeout, headers=headers, transport=self.transport) as client:
            for page in range(1, MAX_PAGES + 1):
                params: dict[str, Any] = {"page": page, "page_size": self.page_size}
                if since is not None:
                    params["since"] = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
                body = self._get(client, params)
                records = body.get(self.records_key)
                if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
                    raise GovApiResponseError(host=_host(self.url), detail=f"'{self.records_key}' is not a list")
                if records:
                    yield records
                total = body.get("total")
                if (
                    len(records) < self.page_size
                    or (isinstance(total, int) and page * self.page_size >= total)
                ):
                    return
        raise GovApiResponseError(host=_host(self.url), detail=f"more than {MAX_PAGES} pages")

    def _get(self, client: httpx.Client, params: dict[str, Any]) -> dict[str, Any]:
        """One page's answer as a dict, retrying 5xx answers and network errors with backoff."""
        host = _host(self.url)
        last = ""
        for attempt in range(self.retries + 1):
            if attempt:
                self.sleep(self.backoff * 2 ** (attempt - 1))
            self.requests_made += 1
            try:
                response = client.get(self.url, params=params)
            except httpx.TransportError as exc:
                last = type(exc).__name__
                continue
            status = response.status_code
            if status >= 500:
                last = f"HTTP {status}"
                continue
            if status in (401, 403):
                raise GovApiUnauthorizedError(host=host, status=status)
            if status >= 400:
                raise GovApiRequestError(host=host, status=status)
            try:
                body = response.json()
            except ValueError as exc:
                raise GovApiResponseError(host=host, detail="not JSON") from exc
            if not isinstance(body, dict):
                raise GovApiResponseError(host=host, detail="not a JSON object")
            return body
        raise GovApiUnavailableError(host=host, attempts=self.retries + 1, detail=last)


def configured_feeds(settings: Settings) -> dict[str, bool]:
    """Every known feed by mapping name, and whether its URL is configured."""
    return {name: bool(getattr(settings, spec.url_setting, "")) for name, spec in FEEDS.items()}


def feed_for(mapping: str, settings: Settings) -> HttpDepartmentApi:
    """The HTTP adapter of one configured feed.

    Args:
        mapping: the feed's import-mapping name (a key of :data:`FEEDS`).
        settings: where its URL, token, timeout, retries and page size come from.

    Raises:
        GovApiNotConfiguredError: the feed is unknown or has no URL.
    """
    spec = FEEDS.get(mapping)
    url = getattr(settings, spec.url_setting, "") if spec else ""
    if spec is None or not url:
        raise GovApiNotConfiguredError(source=mapping)
    return HttpDepartmentApi(
        mapping=mapping,
        url=url,
        token=getattr(settings, spec.token_setting, ""),
        page_size=settings.gov_api_page_size,
        timeout=settings.gov_api_timeout_seconds,
        retries=settings.gov_api_retries,
        backoff=settings.gov_api_backoff_seconds,
    )
