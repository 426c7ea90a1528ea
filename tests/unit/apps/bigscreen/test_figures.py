"""The wall's figures are pure: plain DataFrames in, figures out — including from an empty platform."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import pytest

from apps.bigscreen import figures
from core.reference import districts as reference_districts
from core.services.analytics import DISTRICT_COLUMNS, TREND_COLUMNS


def trend_frame(months: int = 3) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "month": pd.date_range("2026-01-01", periods=months, freq="MS"),
            "applications": [10 * (i + 1) for i in range(months)],
            "loans": [4 * (i + 1) for i in range(months)],
            "amount_yuan": [50_000_000.0 * (i + 1) for i in range(months)],
            "first_loans": [i + 1 for i in range(months)],
        }
    )


def district_frame(amounts: dict[str, float] | None = None) -> pd.DataFrame:
    ref = reference_districts().rename(columns={"code": "district_code"})
    frame = ref[["district_code", "name", "name_en", "tile_col", "tile_row"]].copy()
    amounts = amounts or {}
    frame["amount_yuan"] = [float(amounts.get(code, 0.0)) for code in frame["district_code"]]
    frame["loans"] = (frame["amount_yuan"] > 0).astype(int) * 3
    frame["enterprises"] = 5
    frame["first_loans"] = 1
    return frame[DISTRICT_COLUMNS]


def empty(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="float64") for c in columns})


def _annotation_texts(fig: go.Figure) -> list[str]:
    return [a.text for a in fig.layout.annotations]


def test_trend_has_amount_bars_in_yi_yuan_and_two_count_lines():
    fig = figures.trend_figure(trend_frame(), locale="zh_CN")
    bar, loans, first = fig.data
    assert bar.type == "bar" and list(bar.y) == pytest.approx([0.5, 1.0, 1.5])
    assert loans.type == "scatter" and loans.yaxis == "y2" and list(loans.y) == [4, 8, 12]
    assert first.yaxis == "y2" and list(first.y) == [1, 2, 3]
    assert "亿元" in bar.name and fig.layout.yaxis.title.text == "亿元"


def test_trend_sorts_months_and_speaks_english():
    shuffled = trend_frame(4).iloc[[2, 0, 3, 1]]
    fig = figures.trend_figure(shuffled, locale="en")
    assert list(pd.to_datetime(fig.data[0].x)) == list(pd.date_range("2026-01-01", periods=4, freq="MS"))
    assert [t.name for t in fig.data][1:] == ["Loans", "First loans"]


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_every_figure_renders_an_empty_platform(locale):
    for fig in (
        figures.trend_figure(empty(TREND_COLUMNS), locale=locale),
        figures.tile_map_figure(empty(DISTRICT_COLUMNS), locale=locale),
        figures.ranking_figure(empty(DISTRICT_COLUMNS), locale=locale),
    ):
        assert isinstance(fig, go.Figure)
        assert _annotation_texts(fig) == ["暂无数据" if locale == "zh_CN" else "No data yet"]
        fig.to_json()  # serializable, as Dash needs it


def test_figures_accept_none_and_frames_without_the_expected_columns():
    assert _annotation_texts(figures.trend_figure(None)) == ["暂无数据"]
    assert _annotation_texts(figures.tile_map_figure(pd.DataFrame({"name": ["桃城区"]}))) == ["暂无数据"]


def test_tile_map_draws_one_tile_per_district_at_its_grid_position():
    frame = district_frame({"131102": 250_000_000, "131182": 50_000_000})
    fig = figures.tile_map_figure(frame, locale="zh_CN")
    tiles = [s for s in fig.layout.shapes if s.type == "rect"]
    assert len(tiles) == len(frame) == 13
    taocheng = frame.index[frame["district_code"] == "131102"][0]
    col, row = frame.loc[taocheng, ["tile_col", "tile_row"]]
    assert tiles[taocheng].x0 < col < tiles[taocheng].x1 and tiles[taocheng].y0 < row < tiles[taocheng].y1
    labels = fig.data[0]
    assert labels.mode == "text" and len(labels.text) == 13
    assert labels.text[taocheng] == "桃城区<br><b>2.50</b>"
    # Rows grow downwards, like a map read from the top; tiles are squares.
    assert fig.layout.yaxis.range[0] > fig.layout.yaxis.range[1]
    assert fig.layout.yaxis.scaleanchor == "x"


def test_tile_colour_follows_the_amount_and_the_colour_bar_names_the_unit():
    frame = district_frame({"131102": 90_000_000, "131103": 1})
    fig = figures.tile_map_figure(frame, locale="zh_CN")
    colours = {
        code: shape.fillcolor for code, shape in zip(frame["district_code"], fig.layout.shapes, strict=True)
    }
    assert colours["131102"] != colours["131103"]
    assert colours["131103"] == colours["131121"]  # 1 yuan is indistinguishable from nothing
    colour_bar = fig.data[1].marker
    assert colour_bar.showscale and colour_bar.cmax == pytest.approx(9000)
    assert colour_bar.colorbar.title.text == "万元"  # small amounts switch to 万元


def test_tile_map_all_zero_platform_still_draws_every_tile():
    fig = figures.tile_map_figure(district_frame(), locale="en")
    assert len(fig.layout.shapes) == 13
    assert "Taocheng<br>District<br><b>0.0</b>" in fig.data[0].text


def test_ranking_puts_the_largest_district_on_top_with_labels():
    frame = district_frame({"131102": 300_000_000, "131182": 100_000_000, "131127": 200_000_000})
    fig = figures.ranking_figure(frame, locale="zh_CN")
    bar = fig.data[0]
    assert bar.orientation == "h"
    assert list(bar.y)[-3:] == ["深州市", "景县", "桃城区"]
    assert list(bar.text)[-1] == "3.00"
    assert "亿元" in _annotation_texts(fig)[0]


def test_ranking_can_show_only_the_top_districts():
    frame = district_frame({"131102": 3e8, "131182": 1e8, "131127": 2e8})
    fig = figures.ranking_figure(frame, locale="en", top=2)
    assert list(fig.data[0].y) == ["Jing County", "Taocheng District"]


def test_amount_unit_switches_from_wan_to_yi_at_one_hundred_million():
    assert figures.amount_unit(99_999_999) == (10_000.0, "unit.wan_yuan")
    assert figures.amount_unit(100_000_000) == (100_000_000.0, "unit.yi_yuan")
