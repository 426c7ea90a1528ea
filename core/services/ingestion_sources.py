"""The department sources the platform can import: their import mappings, and which can be pulled now.

Each source is an import mapping, versioned data under ``data/reference/import_mappings/<name>.json``
(:mod:`core.quality.mapping`); a source with a configured department API
(:func:`core.adapters.gov_api.configured_feeds`) can also be pulled (:mod:`core.services.ingestion_pull`).
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import BaseModel

from core.adapters.gov_api import configured_feeds
from core.auth import Actor, Permission
from core.config import REFERENCE_DIR, get_settings
from core.errors import NotFoundError
from core.quality.mapping import ImportMapping, parse_mapping
from core.usecase import UnitOfWork, use_case

MAPPINGS_DIR = REFERENCE_DIR / "import_mappings"


class ImportSourceUnknownError(NotFoundError):
    """No import mapping of that name."""

    key = "ingest.error.unknown_source"


class ImportSourcePublic(BaseModel):
    """One configured department source (an import mapping) and whether it can be pulled now."""

    name: str
    source: str  # the department (GovSource value, or finance)
    target: str
    version: int
    description: str
    pullable: bool  # a pull adapter exists for it
    configured: bool  # … and its URL is set


@lru_cache(maxsize=1)
def _mappings() -> dict[str, ImportMapping]:
    return {
        p.stem: parse_mapping(p.read_text(encoding="utf-8")) for p in sorted(MAPPINGS_DIR.glob("*.json"))
    }


def get_mapping(name: str) -> ImportMapping:
    """The import mapping called ``name`` (``data/reference/import_mappings/<name>.json``).

    Args:
        name: the mapping's name, e.g. ``market_enterprise``.

    Raises:
        ImportSourceUnknownError: no such mapping.
    """
    mapping = _mappings().get(name)
    if mapping is None:
        raise ImportSourceUnknownError(field="source", source=name)
    return mapping


@use_case(Permission.data_import)
def list_import_sources(uow: UnitOfWork, *, actor: Actor) -> list[ImportSourcePublic]:
    """Every department source the platform can import, and which can be pulled from an API now."""
    feeds = configured_feeds(get_settings())
    return [
        ImportSourcePublic(
            name=name,
            source=m.source,
            target=m.target,
            version=m.version,
            description=m.description,
            pullable=name in feeds,
            configured=feeds.get(name, False),
        )
        for name, m in _mappings().items()
    ]
