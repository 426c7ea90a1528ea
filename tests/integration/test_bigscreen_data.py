"""The wall's provider reads the seeded database through the analytics services, and its numbers agree."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from apps.bigscreen import callbacks, ids
from apps.bigscreen.data import TREND_MONTHS, AnalyticsProvider, read_snapshot
from apps.bigscreen.layout import kpi_display
from core.reference import districts as reference_districts
from tests.conftest import use_database


@pytest.fixture
def snapshot(seeded_db):
    return read_snapshot(AnalyticsProvider())


def test_seeded_platform_has_something_to_show(snapshot):
    kpis = snapshot.kpis
    assert kpis["enterprises"] > 0 and kpis["institutions"] > 0 and kpis["loans"] > 0
    assert isinstance(kpis["credit_granted_yuan"], Decimal) and kpis["credit_granted_yuan"] > 0
    assert kpis["as_of"].tzinfo is not None
    assert 0 < kpis["avg_rate_pct"] < 30


def test_districts_add_up_to_the_platform_totals(snapshot):
    kpis, frame = snapshot.kpis, snapshot.districts
    assert set(frame["district_code"]) == set(reference_districts()["code"])
    assert int(frame["enterprises"].sum()) == kpis["enterprises"]
    assert int(frame["loans"].sum()) == kpis["loans"]
    assert int(frame["first_loans"].sum()) == kpis["first_loans"]
    assert frame["amount_yuan"].sum() == pytest.approx(float(kpis["credit_granted_yuan"]), abs=0.01)


def test_trend_covers_the_last_months_within_the_totals(snapshot):
    kpis, trend = snapshot.kpis, snapshot.trend
    assert len(trend) == TREND_MONTHS
    months = pd.to_datetime(trend["month"])
    assert months.is_monotonic_increasing and (months.dt.day == 1).all()
    assert int(trend["loans"].sum()) <= kpis["loans"]
    assert int(trend["first_loans"].sum()) <= kpis["first_loans"]
    assert trend["amount_yuan"].sum() <= float(kpis["credit_granted_yuan"]) + 0.01


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_a_refresh_on_the_seeded_database_fills_the_whole_screen(seeded_db, locale):
    values = callbacks.refresh_view(
        AnalyticsProvider(), {"locale": locale, "timezone": "Asia/Shanghai"}, refresh_seconds=30
    )
    assert values[(ids.message(), "hidden")] is True
    snapshot = read_snapshot(AnalyticsProvider())
    for name, text in kpi_display(snapshot.kpis, locale).items():
        assert values[(ids.kpi_value(name), "children")] == text
    tiles = values[(ids.tile_map_graph(), "figure")]
    assert len(tiles.layout.shapes) == len(reference_districts())
    assert len(values[(ids.ranking_graph(), "figure")].data[0].y) == len(reference_districts())
    assert len(values[(ids.trend_graph(), "figure")].data[0].x) == TREND_MONTHS


def test_an_unmigrated_database_shows_the_calm_message(monkeypatch, tmp_path: Path):
    use_database(monkeypatch, f"sqlite:///{tmp_path / 'empty.db'}")
    values = callbacks.refresh_view(
        AnalyticsProvider(), {"locale": "en", "timezone": "Asia/Shanghai"}, refresh_seconds=30
    )
    assert values[(ids.message(), "hidden")] is False
    body = "".join(values[(ids.message_body(), "children")])
    assert "Traceback" not in body and "sqlite" not in body.lower()
