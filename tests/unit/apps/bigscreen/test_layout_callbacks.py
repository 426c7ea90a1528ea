"""The wall's layout and callbacks, tested without a browser or a database: a fake in-memory provider."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import dash
import pandas as pd
import plotly.graph_objects as go
import pytest
from dash.development.base_component import Component

from apps.bigscreen import callbacks, ids
from apps.bigscreen.app import create_app
from apps.bigscreen.data import WALL_ACTOR
from core.auth import Permission
from core.config import get_settings
from core.errors import DatabaseNotReadyError

AS_OF = datetime(2026, 5, 31, 16, 5, tzinfo=UTC)  # 2026-06-01 00:05 in Asia/Shanghai
SETTINGS_ZH = {"locale": "zh_CN", "timezone": "Asia/Shanghai"}
SETTINGS_EN = {"locale": "en", "timezone": "Asia/Shanghai"}


class FakeProvider:
    """Plain DataFrames in memory; counts calls so tests can see when the data was read."""

    def __init__(self, *, empty: bool = False) -> None:
        self.calls = 0
        self.empty = empty

    def kpis(self) -> dict:
        self.calls += 1
        return {
            "enterprises": 0 if self.empty else 12345,
            "institutions": 0 if self.empty else 28,
            "products_published": 0 if self.empty else 96,
            "needs": 0,
            "applications": 0,
            "loans": 0 if self.empty else 3000,
            "credit_granted_yuan": Decimal("0") if self.empty else Decimal("12345678901.23"),
            "first_loans": 0 if self.empty else 812,
            "first_loan_amount_yuan": Decimal("0"),
            "avg_rate_pct": 0.0 if self.empty else 4.3567,
            "overdue_loans": 0,
            "defaulted_loans": 0,
            "as_of": AS_OF,
        }

    def monthly_trend(self, months: int = 24) -> pd.DataFrame:
        if self.empty:
            return pd.DataFrame(columns=["month", "applications", "loans", "amount_yuan", "first_loans"])
        return pd.DataFrame(
            {
                "month": pd.date_range("2026-01-01", periods=3, freq="MS"),
                "applications": [5, 6, 7],
                "loans": [2, 3, 4],
                "amount_yuan": [1e8, 2e8, 3e8],
                "first_loans": [1, 1, 2],
            }
        )

    def districts(self) -> pd.DataFrame:
        rows = [] if self.empty else [("131102", "桃城区", "Taocheng District", 2, 2, 10, 4, 3e8, 1)]
        return pd.DataFrame(
            rows,
            columns=[
                "district_code",
                "name",
                "name_en",
                "tile_col",
                "tile_row",
                "enterprises",
                "loans",
                "amount_yuan",
                "first_loans",
            ],
        )


class FailingProvider(FakeProvider):
    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error

    def kpis(self) -> dict:
        raise self.error


def walk(component) -> Iterator[Component]:
    """Every component of a layout tree, depth first."""
    if isinstance(component, Component):
        yield component
        yield from walk(getattr(component, "children", None))
    elif isinstance(component, list | tuple):
        for child in component:
            yield from walk(child)


def by_id(layout) -> dict[str, Component]:
    return {c.id: c for c in walk(layout) if getattr(c, "id", None)}


@pytest.fixture
def provider() -> FakeProvider:
    return FakeProvider()


@pytest.fixture
def app(provider) -> dash.Dash:
    return create_app(data_provider=provider)


def test_the_wall_actor_may_read_platform_statistics_and_nothing_else():
    assert WALL_ACTOR.permissions == frozenset({Permission.platform_stats})


def test_layout_has_every_component_by_id_and_reads_no_data(app, provider):
    layout = app.layout()
    components = by_id(layout)
    expected = {
        ids.root(),
        ids.location(),
        ids.settings_store(),
        ids.refresh_interval(),
        ids.clock_interval(),
        ids.title(),
        ids.subtitle(),
        ids.clock(),
        ids.as_of(),
        ids.trend_graph(),
        ids.tile_map_graph(),
        ids.ranking_graph(),
        ids.message(),
        ids.message_title(),
        ids.message_body(),
        *(ids.kpi_label(n) for n in ids.KPI_NAMES),
        *(ids.kpi_value(n) for n in ids.KPI_NAMES),
        *(ids.kpi_unit(n) for n in ids.KPI_NAMES),
        *(ids.panel_title(n) for n in ids.PANEL_NAMES),
    }
    assert expected <= set(components)
    assert components[ids.title()].children == "衡水市金融信用信息服务平台"
    assert components[ids.message()].hidden is True
    assert provider.calls == 0  # the data arrive through the refresh callback, not the layout


def test_refresh_interval_comes_from_settings(monkeypatch, provider):
    monkeypatch.setenv("BIGSCREEN_REFRESH_SECONDS", "45")
    get_settings.cache_clear()
    components = by_id(create_app(data_provider=provider).layout())
    assert components[ids.refresh_interval()].interval == 45_000


def test_app_default_locale_labels_the_first_paint_in_english(provider):
    components = by_id(create_app(locale="en", data_provider=provider).layout())
    assert components[ids.title()].children == "Hengshui Financial Credit Information Service Platform"
    assert components[ids.settings_store()].data["locale"] == "en"


def test_callbacks_are_registered_on_each_fresh_app(provider):
    first, second = create_app(data_provider=provider), create_app(data_provider=FakeProvider())
    for app in (first, second):
        outputs = " ".join(app.callback_map)
        for component_id, prop in callbacks.REFRESH_OUTPUTS + callbacks.LOCALIZE_OUTPUTS:
            assert f"{component_id}.{prop}" in outputs
        assert f"{ids.clock()}.children" in outputs


@pytest.mark.parametrize(
    ("search", "expected"),
    [("", "zh_CN"), ("?lang=en", "en"), ("?lang=zh", "zh_CN"), ("?x=1&lang=en-US", "en"), (None, "zh_CN")],
)
def test_lang_query_string_chooses_the_locale(search, expected):
    assert callbacks.resolve_locale(search, "zh_CN") == expected


def test_localize_switches_every_label_to_english():
    values = callbacks.localize(
        "?lang=en",
        default_locale="zh_CN",
        timezone="Asia/Shanghai",
        city={"name": "衡水市", "name_en": "Hengshui"},
    )
    assert values[(ids.settings_store(), "data")] == SETTINGS_EN
    assert values[(ids.root(), "lang")] == "en"
    assert values[(ids.title(), "children")] == "Hengshui Financial Credit Information Service Platform"
    assert values[(ids.kpi_label("credit"), "children")] == "Credit granted"
    assert set(values) == set(callbacks.LOCALIZE_OUTPUTS)


def test_refresh_fills_counters_as_of_and_figures(provider):
    values = callbacks.refresh_view(provider, SETTINGS_ZH, refresh_seconds=30)
    assert set(values) == set(callbacks.REFRESH_OUTPUTS)
    assert values[(ids.as_of(), "children")] == "数据更新于 2026-06-01 00:05"
    assert values[(ids.kpi_value("enterprises"), "children")] == "12,345"
    assert values[(ids.kpi_value("credit"), "children")] == "123.46"  # 亿元
    assert values[(ids.kpi_value("avg_rate"), "children")] == "4.36"
    assert values[(ids.kpi_value("first_loans"), "children")] == "812"
    for graph in (ids.trend_graph(), ids.tile_map_graph(), ids.ranking_graph()):
        assert isinstance(values[(graph, "figure")], go.Figure)
    assert values[(ids.message(), "hidden")] is True
    assert provider.calls == 1


def test_refresh_in_english_labels_the_figures_in_english(provider):
    values = callbacks.refresh_view(provider, SETTINGS_EN, refresh_seconds=30)
    assert values[(ids.as_of(), "children")] == "Data as of 2026-06-01 00:05"
    assert values[(ids.ranking_graph(), "figure")].data[0].y[-1] == "Taocheng District"


def test_an_empty_platform_renders_zeros_and_no_data_panels():
    values = callbacks.refresh_view(FakeProvider(empty=True), SETTINGS_ZH, refresh_seconds=30)
    assert values[(ids.kpi_value("enterprises"), "children")] == "0"
    assert values[(ids.kpi_value("credit"), "children")] == "0.00"
    trend = values[(ids.trend_graph(), "figure")]
    assert [a.text for a in trend.layout.annotations] == ["暂无数据"]
    assert values[(ids.message(), "hidden")] is True


def test_database_not_ready_shows_a_calm_message_in_the_page_language():
    failing = FailingProvider(DatabaseNotReadyError("error.database_not_migrated"))
    values = callbacks.refresh_view(failing, SETTINGS_EN, refresh_seconds=30)
    assert values[(ids.message(), "hidden")] is False
    body = "".join(values[(ids.message_body(), "children")])
    assert "database" in body.lower() and "every 30 seconds" in body
    # What the wall showed before stays on screen behind the message.
    assert values[(ids.trend_graph(), "figure")] is dash.no_update
    assert values[(ids.kpi_value("credit"), "children")] is dash.no_update


def test_an_unexpected_error_never_reaches_the_screen_as_a_traceback():
    failing = FailingProvider(RuntimeError("no such table: loan"))
    values = callbacks.refresh_view(failing, SETTINGS_ZH, refresh_seconds=30)
    body = "".join(values[(ids.message_body(), "children")])
    assert values[(ids.message(), "hidden")] is False
    assert "no such table" not in body and "Traceback" not in body
    assert body.startswith("数据服务暂时不可用")


def test_refresh_without_settings_falls_back_to_chinese(provider):
    values = callbacks.refresh_view(provider, None, refresh_seconds=30)
    assert values[(ids.as_of(), "children")].startswith("数据更新于")


def test_server_answers_layout_and_health_without_a_database(provider, monkeypatch, tmp_path: Path):
    database = tmp_path / "never-created.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{database}")
    get_settings.cache_clear()
    client = create_app(data_provider=provider, kiosk_token="k" * 24).server.test_client()
    assert client.get("/healthz").status_code == 200
    assert client.get("/?kiosk=" + "k" * 24).status_code == 303  # authorizes this client (cookie)
    response = client.get("/_dash-layout")
    assert response.status_code == 200 and ids.tile_map_graph() in response.get_data(as_text=True)
    assert client.get("/").status_code == 200
    assert not database.exists()


def test_creating_the_production_app_touches_no_database(monkeypatch, tmp_path: Path):
    database = tmp_path / "never-created.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{database}")
    get_settings.cache_clear()
    app = create_app()
    assert by_id(app.layout())[ids.as_of()].children == "正在读取数据…"
    assert not database.exists()
