"""Enterprise app · 风险提示 / Our warnings: the early-warning signals that concern us, in plain words,
and what would clear each — never the internal rule thresholds (the service does not return them).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from apps.common.actor import current_actor
from apps.common.i18n import t
from apps.common.widgets import Kpi, kpi_cards
from core.services import risk_queues

PREFIX = "ent_risk_"
BADGE = {"red": "red", "orange": "orange", "yellow": "orange", "blue": "blue"}
ICON = {"red": ":material/error:", "orange": ":material/warning:", "yellow": ":material/warning:",
        "blue": ":material/info:"}


def plain(key: str, detail, fallback: str = "") -> str:
    """A rule's text in the user's language with the fact's parameters, else ``fallback``."""
    text = t(key, **(detail if isinstance(detail, dict) else {}))
    return fallback if text == key else text


def local_day(value) -> str:
    stamp = pd.Timestamp(value)
    return (stamp.tz_convert("Asia/Shanghai") if stamp.tzinfo else stamp).strftime("%Y-%m-%d")


actor = current_actor()
if actor is None or actor.enterprise_id is None:
    st.info(t("ent.no_enterprise"))
    st.stop()

st.title(t("riskui.warnings.title"))
st.caption(t("riskui.warnings.caption"))

warnings = risk_queues.enterprise_warnings(actor=actor, enterprise_id=actor.enterprise_id)
if warnings.empty:
    st.success(t("riskui.warnings.none"), icon=":material/verified:")
    st.stop()

colours = warnings["colour"].value_counts()
kpi_cards(
    [Kpi(t(f"riskui.colour.{c}"), str(int(colours.get(c, 0)))) for c in ("red", "orange", "yellow", "blue")],
    key=PREFIX + "kpis",
)
for row in warnings.sort_values("level", ascending=False, kind="stable").to_dict("records"):
    colour = str(row.get("colour") or "blue")
    with st.container(border=True):
        st.badge(t(f"riskui.colour.{colour}"), color=BADGE.get(colour, "gray"), icon=ICON.get(colour))
        # The category, not the rule's name: some names carry the threshold (e.g. "30 days").
        category = str(row.get("category") or "")
        st.markdown(f"**{t(f'riskui.category.{category}')}**" if category else "")
        detail = row.get("detail")
        text = plain(str(row.get("message_key")), detail, t(f"riskui.explain.{category}") if category else "")
        if text:
            st.write(text)
        clear = plain(str(row.get("clear_key")), detail, t(f"riskui.clear.{category}") if category else "")
        if clear:
            st.markdown(t("riskui.warnings.clear", text=clear))
        if row.get("raised_at") is not None and not pd.isna(row.get("raised_at")):
            st.caption(t("riskui.warnings.since", date=local_day(row["raised_at"])))
st.caption(t("riskui.warnings.footer"))
