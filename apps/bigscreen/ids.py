"""Component ids of the wall, one function each, so layout, callbacks and tests never spell a string twice."""

from __future__ import annotations

# The headline counters, left to right.
KPI_NAMES: tuple[str, ...] = (
    "enterprises",
    "institutions",
    "products",
    "credit",
    "first_loans",
    "avg_rate",
)

# The three chart panels.
PANEL_NAMES: tuple[str, ...] = ("trend", "tiles", "ranking")


def root() -> str:
    return "wall-root"


def location() -> str:
    return "wall-location"


def settings_store() -> str:
    """Locale and display timezone of this page load (written by the localize callback)."""
    return "wall-settings"


def refresh_interval() -> str:
    return "wall-refresh"


def clock_interval() -> str:
    return "wall-clock-tick"


def title() -> str:
    return "wall-title"


def subtitle() -> str:
    return "wall-subtitle"


def clock() -> str:
    return "wall-clock"


def as_of() -> str:
    return "wall-as-of"


def kpi_label(name: str) -> str:
    return f"wall-kpi-{name}-label"


def kpi_value(name: str) -> str:
    return f"wall-kpi-{name}-value"


def kpi_unit(name: str) -> str:
    return f"wall-kpi-{name}-unit"


def panel_title(name: str) -> str:
    return f"wall-panel-{name}-title"


def trend_graph() -> str:
    return "wall-trend-graph"


def tile_map_graph() -> str:
    return "wall-tile-map-graph"


def ranking_graph() -> str:
    return "wall-ranking-graph"


def message() -> str:
    """The full-screen overlay shown instead of a traceback when the data cannot be read."""
    return "wall-message"


def message_title() -> str:
    return "wall-message-title"


def message_body() -> str:
    return "wall-message-body"


# ------------------------------------------------------------------ the risk scene (issue 7)
# Headline counters of the risk scene, left to right, and its three panels.
RISK_KPI_NAMES: tuple[str, ...] = ("signals", "flagged", "red", "cases", "case_amount")
RISK_PANEL_NAMES: tuple[str, ...] = ("colours", "tiles", "cases")


def scene_interval() -> str:
    """Ticks that rotate the wall between its scenes."""
    return "wall-scene-tick"


def risk_scene() -> str:
    return "wall-risk-scene"


def risk_kpi_label(name: str) -> str:
    return f"wall-risk-kpi-{name}-label"


def risk_kpi_value(name: str) -> str:
    return f"wall-risk-kpi-{name}-value"


def risk_kpi_unit(name: str) -> str:
    return f"wall-risk-kpi-{name}-unit"


def risk_panel_title(name: str) -> str:
    return f"wall-risk-panel-{name}-title"


def risk_colour_graph() -> str:
    return "wall-risk-colour-graph"


def risk_tile_map_graph() -> str:
    return "wall-risk-tile-map-graph"


def risk_cases_table() -> str:
    return "wall-risk-cases-table"


def risk_cases_header() -> str:
    return "wall-risk-cases-header"
