"""Demo data: a deterministic generator of realistic Hengshui data and a bulk loader for it.

``seed_database(url, scale=…, seed=…)`` fills a migrated database and returns a SeedReport;
``generate(scale, seed)`` returns the frames without touching any database.
"""

from __future__ import annotations

from datetime import date

from core.seed.generator import DEFAULT_AS_OF, SCALES, DemoGenerator, ScaleSpec, generate, iter_frames
from core.seed.loader import SeedReport, load

__all__ = [
    "DEFAULT_AS_OF",
    "SCALES",
    "DemoGenerator",
    "ScaleSpec",
    "SeedReport",
    "generate",
    "iter_frames",
    "seed_database",
]


def seed_database(
    url: str,
    *,
    scale: str = "demo",
    seed: int = 42,
    n_enterprises: int | None = None,
    progress: bool = True,
    force: bool = False,
    as_of: date = DEFAULT_AS_OF,
) -> SeedReport:
    """Fill the migrated database at ``url`` with demo data (skipped when it is already seeded).

    Args:
        url: SQLAlchemy URL (SQLite or PostgreSQL) of a database at the latest migration.
        scale: ``small``, ``demo`` or ``large`` (see ``SCALES``).
        seed: random seed; the same scale and seed always produce identical data.
        n_enterprises: override of the scale's number of enterprises.
        progress: show a progress bar when stderr is a terminal.
        force: wipe every table and reload when the database already holds data.
        as_of: the data set's "today" (the generator never reads the clock).
    """
    return load(url, scale=scale, seed=seed, n_enterprises=n_enterprises, as_of=as_of,
                progress=progress, force=force)
