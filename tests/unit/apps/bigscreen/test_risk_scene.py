"""The wall's risk scene without a browser or a database: pure figures, table rows, the scene rotation
and the refresh callback called with a fake provider (and a failing one)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import dash
import pandas as pd
import plotly.graph_objects as go
import pytest

from apps.bigscreen import ids, risk_scene
from apps.bigscreen.app import create_app
from tests.unit.apps.bigscreen.test_layout_callbacks import FakeProvider, by_id

SETTINGS_EN = {"locale": "en", "timezone": "Asia/Shanghai"}


@dataclass
class Map:
    by_colour: pd.DataFrame
    by_district: pd.DataFrame
    open_signals: int
    enterprises_flagged: int


@dataclass
class Cases:
    cases: pd.DataFrame
    count: int
    amount: float


def risk_map(empty: bool = False) -> Map:
    colours = pd.DataFrame({"colour": ["red", "orange", "yellow", "blue"],
                            "signals": [0, 0, 0, 0] if empty else [5, 3, 2, 1],
                            "enterprises": [0, 0, 0, 0] if empty else [2, 2, 1, 1]})
    districts = pd.DataFrame({
        "district_code": ["131102", "131103"], "name": ["桃城区", "冀州区"],
        "name_en": ["Taocheng District", "Jizhou District"], "tile_col": [2, 1], "tile_row": [2, 1],
        "signals": [0, 0] if empty else [9, 2], "enterprises": [0, 0] if empty else [5, 1],
        "red": [0, 0] if empty else [2, 0], "orange": [0, 0] if empty else [2, 0],
        "yellow": [0, 0] if empty else [1, 0], "blue": [0, 0] if empty else [0, 1],
    })
    return Map(colours, districts, 0 if empty else 11, 0 if empty else 6)


def cases(empty: bool = False) -> Cases:
    frame = pd.DataFrame(
        [] if empty else [{"case_id": 1, "enterprise": "衡水******有限公司", "district_name": "桃城区",
                           "district_name_en": "Taocheng District", "institution": "测试银行", "amount": 3_000_000.0,
                           "status": "open", "opened_at": datetime(2026, 5, 31, 17, tzinfo=UTC)}],
        columns=["case_id", "enterprise", "district_name", "district_name_en", "institution", "amount", "status",
                 "opened_at"])
    return Cases(frame, 0 if empty else 1, 0.0 if empty else 3_000_000.0)


class FakeRisk:
    def __init__(self, empty: bool = False, error: Exception | None = None) -> None:
        self.empty, self.error, self.calls = empty, error, 0

    def risk_map(self):
        self.calls += 1
        if self.error:
            raise self.error
        return risk_map(self.empty)

    def open_cases(self):
        return cases(self.empty)


def test_the_colour_donut_shows_the_four_colours_in_bank_order_with_the_total():
    fig = risk_scene.colour_figure(risk_map().by_colour, locale="en")
    pie = fig.data[0]
    assert list(pie.labels) == ["Red", "Orange", "Yellow", "Blue"]
    assert list(pie.marker.colors) == [risk_scene.COLOUR_HEX[c] for c in ("red", "orange", "yellow", "blue")]
    assert list(pie.values) == [2, 2, 1, 1]
    assert fig.layout.annotations[0].text.startswith("<b>6</b>")


def test_figures_render_an_empty_platform_as_no_data_not_a_crash():
    empty = risk_map(empty=True)
    for fig in (risk_scene.colour_figure(empty.by_colour), risk_scene.risk_tile_map_figure(pd.DataFrame()),
                risk_scene.colour_figure(None)):
        assert isinstance(fig, go.Figure) and fig.layout.annotations[0].text == "暂无数据"


def test_the_tile_map_puts_each_district_at_its_tile_and_reddens_the_most_flagged():
    fig = risk_scene.risk_tile_map_figure(risk_map().by_district, locale="zh_CN")
    shapes = fig.layout.shapes
    assert len(shapes) == 2 and (shapes[0].x0 + shapes[0].x1) / 2 == pytest.approx(2)
    assert shapes[0].fillcolor != shapes[1].fillcolor
    assert shapes[0].fillcolor.replace(" ", "") in ("rgb(255,59,59)", "#ff3b3b")  # the top district is the red end
    labels = fig.data[0].text
    assert labels[0] == "桃城区<br><b>5</b>" and "红 2" in fig.data[0].hovertext[0]


def test_case_rows_show_masked_names_local_dates_and_amounts_in_wan():
    rows = risk_scene.case_rows(cases().cases, locale="en")
    cells = [c.children for c in rows[0].children]
    assert cells[0] == "衡水******有限公司" and cells[1] == "Taocheng District"
    assert cells[2] == "300.0 10k yuan" or cells[2].startswith("300.0")
    assert cells[3] == "Open" and cells[4] == "2026-06-01"  # 17:00 UTC is the next day in Shanghai
    empty = risk_scene.case_rows(cases(empty=True).cases, locale="en")
    assert empty[0].children.children == "No open cases"


def test_the_scene_rotates_unless_the_url_pins_one():
    assert [risk_scene.scene_for("", n) for n in range(3)] == ["overview", "risk", "overview"]
    assert risk_scene.scene_for("?scene=risk&lang=en", 0) == "risk"
    assert risk_scene.scene_for("?scene=overview", 1) == "overview"
    assert risk_scene.scene_for("?scene=nonsense", 1) == "risk"
    assert risk_scene.scene_class("overview") == "wall"
    assert risk_scene.scene_class("risk") == "wall wall-scene-risk"


def test_the_refresh_callback_fills_counters_charts_and_the_cases_table():
    values = risk_scene.risk_refresh_view(FakeRisk(), SETTINGS_EN)
    assert set(values) == set(risk_scene.RISK_REFRESH_OUTPUTS)
    assert values[(ids.risk_kpi_value("signals"), "children")] == "11"
    assert values[(ids.risk_kpi_value("red"), "children")] == "2"
    assert values[(ids.risk_kpi_value("cases"), "children")] == "1"
    assert values[(ids.risk_kpi_value("case_amount"), "children")] == "300.0"
    assert values[(ids.risk_kpi_unit("signals"), "children")] == "signals"
    assert isinstance(values[(ids.risk_colour_graph(), "figure")], go.Figure)
    assert len(values[(ids.risk_cases_table(), "children")]) == 1


def test_a_failing_provider_keeps_the_charts_and_says_so_in_the_table():
    values = risk_scene.risk_refresh_view(FakeRisk(error=RuntimeError("db down")), SETTINGS_EN)
    assert values[(ids.risk_colour_graph(), "figure")] is dash.no_update
    assert values[(ids.risk_kpi_value("signals"), "children")] is dash.no_update
    row = values[(ids.risk_cases_table(), "children")][0]
    assert "db down" not in str(row) and row.children.children


def test_the_labels_follow_the_language_of_the_url():
    en = risk_scene.risk_localize("?lang=en", default_locale="zh_CN")
    zh = risk_scene.risk_localize("", default_locale="zh_CN")
    assert en[(ids.risk_panel_title("cases"), "children")] == "Open large-default cases"
    assert zh[(ids.risk_panel_title("cases"), "children")] == "在办大额违约案件"
    header = [cell.children for cell in en[(ids.risk_cases_header(), "children")].children]
    assert header == ["Enterprise", "District", "Amount", "Status", "Opened"]


def test_the_wall_layout_carries_the_risk_scene_and_reads_no_data():
    risk = FakeRisk()
    app = create_app(data_provider=FakeProvider(), risk_provider=risk)
    components = by_id(app.layout())
    expected = {ids.scene_interval(), ids.risk_scene(), ids.risk_colour_graph(), ids.risk_tile_map_graph(),
                ids.risk_cases_table(), *(ids.risk_kpi_value(n) for n in ids.RISK_KPI_NAMES),
                *(ids.risk_panel_title(n) for n in ids.RISK_PANEL_NAMES)}
    assert expected <= set(components)
    assert risk.calls == 0
    callbacks = " ".join(app.callback_map)
    assert ids.risk_colour_graph() in callbacks and f"{ids.root()}.className" in callbacks
