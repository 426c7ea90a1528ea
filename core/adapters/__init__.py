"""I/O adapters to the outside world: the pull interface to government department APIs.

A :class:`DepartmentApi` fetches a department's records changed since a moment, page by page; the
ingestion service (:mod:`core.services.ingestion_pull`) feeds what it returns into the same upsert
path as an uploaded file. Adapters raise :class:`GovApiError` subclasses, each with a message key,
so a failed pull is explained to the operator in their language.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from core.errors import ForbiddenError, InvalidError, JinfuError

Record = dict[str, Any]


@runtime_checkable
class DepartmentApi(Protocol):
    """One department's feed: ``mapping`` names the import mapping its records are read with."""

    mapping: str

    def fetch(self, since: datetime | None) -> Iterator[list[Record]]:
        """Yield the records changed since ``since`` (all of them when None), one page at a time."""
        ...


class GovApiError(JinfuError):
    """A department API could not be read; nothing from this pull is written."""

    key = "ingest.pull.error.generic"


class GovApiUnauthorizedError(GovApiError, ForbiddenError):
    """401/403: the token is missing, wrong or expired."""

    key = "ingest.pull.error.unauthorized"


class GovApiRequestError(GovApiError, InvalidError):
    """Another 4xx: the request itself is wrong (retrying would not help)."""

    key = "ingest.pull.error.client"


class GovApiUnavailableError(GovApiError):
    """5xx or a network error, still failing after every retry."""

    key = "ingest.pull.error.unavailable"


class GovApiResponseError(GovApiError, InvalidError):
    """The answer is not the JSON the feed promises (not JSON, or no list of records)."""

    key = "ingest.pull.error.bad_response"


class GovApiNotConfiguredError(GovApiError, InvalidError):
    """The source has no URL configured, so it cannot be pulled."""

    key = "ingest.pull.error.not_configured"
