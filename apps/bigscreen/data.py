"""Where the wall's numbers come from: a provider calling the read services as the wall actor.

The wall is anonymous and read-only, so it acts as ``WALL_ACTOR`` (role ``wall_viewer``, which holds
only ``Permission.platform_stats``). Cross-process caching happens inside ``core.services.analytics``
(``core.cache``), so every gunicorn worker and every screen share one computation per data version.
Tests pass any object with the same three methods (see ``WallDataProvider``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import pandas as pd

from core.auth import Actor, Role
from core.services import analytics

WALL_ACTOR = Actor(user_id=None, label="wall", roles=frozenset({Role.wall_viewer.value}))
TREND_MONTHS = 24


class WallDataProvider(Protocol):
    """What the wall reads; each call may raise a ``core.errors.JinfuError`` (shown as a calm message)."""

    def kpis(self) -> Mapping[str, Any]: ...

    def monthly_trend(self, months: int = TREND_MONTHS) -> pd.DataFrame: ...

    def districts(self) -> pd.DataFrame: ...


class AnalyticsProvider:
    """The production provider: ``core.services.analytics`` called with the wall actor."""

    def __init__(self, actor: Actor = WALL_ACTOR) -> None:
        self.actor = actor

    def kpis(self) -> Mapping[str, Any]:
        return analytics.platform_kpis(actor=self.actor)

    def monthly_trend(self, months: int = TREND_MONTHS) -> pd.DataFrame:
        return analytics.monthly_trend(actor=self.actor, months=months)

    def districts(self) -> pd.DataFrame:
        return analytics.district_breakdown(actor=self.actor)


@dataclass(frozen=True)
class WallSnapshot:
    """Everything one refresh shows, read in one go so a failure is all-or-nothing."""

    kpis: Mapping[str, Any]
    trend: pd.DataFrame
    districts: pd.DataFrame


def read_snapshot(provider: WallDataProvider, *, months: int = TREND_MONTHS) -> WallSnapshot:
    """Read the three datasets of one refresh from ``provider`` (errors propagate to the caller)."""
    return WallSnapshot(
        kpis=dict(provider.kpis()),
        trend=provider.monthly_trend(months),
        districts=provider.districts(),
    )
