"""Enterprise app · 信用画像 / Credit portrait: grade and score gauge, PD in words, indicator radar, trend,
the reasons in plain words, how to raise the grade, and peers; or what is missing and how to supply it."""

from __future__ import annotations

import math

import streamlit as st

from apps.common import charts, gauges
from apps.common.actor import current_actor
from apps.common.i18n import current_locale, num, scale, section, t, wan
from apps.common.widgets import Kpi, kpi_cards
from core.scoring.features import FEATURES
from core.services import scoring

PREFIX = "ent_portrait_"
# Which data source feeds each feature's family (what to supply when it is missing).
_GROUP_PREFIXES = (
    ("elec_", "utilities"),
    ("water_", "utilities"),
    ("gas_", "utilities"),
    ("utility_", "utilities"),
    ("si_", "social_insurance"),
    ("hf_", "housing_fund"),
    ("tax_", "tax"),
    ("arrears", "tax"),
    ("months_since_arrears", "tax"),
    ("lawsuit", "judicial"),
    ("dishonest", "judicial"),
    ("related_distress", "judicial"),
    ("penalt", "penalty"),
    ("blacklisted", "public_credit"),
    ("commendations", "public_credit"),
    ("abnormal_operation", "market"),
    ("registration_changes", "market"),
    ("years_in_business", "enterprise"),
    ("registered_capital", "enterprise"),
    ("employees", "enterprise"),
    ("industry_section", "enterprise"),
    ("scale", "enterprise"),
)
GROUP_ORDER = (
    "financial_statement",
    "tax",
    "social_insurance",
    "housing_fund",
    "utilities",
    "market",
    "judicial",
    "penalty",
    "public_credit",
    "enterprise",
)

actor = current_actor()
if actor is None or actor.enterprise_id is None:
    st.info(t("ent.no_enterprise"))
    st.stop()
en = current_locale() == "en"


def data_group(feature: str) -> str:
    for prefix, group in _GROUP_PREFIXES:
        if feature.startswith(prefix):
            return group
    return "financial_statement"  # ratios, growth and margins come from the yearly statements


def shown(feature: str, value) -> str:
    """A feature's value in the user's words and units (ratios as percentages, money in 万元)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, str):
        return value
    unit = FEATURES[feature].unit if feature in FEATURES else ""
    if unit == "ratio":
        return f"{num(float(value) * 100, 1)}%"
    if unit == "yuan":
        return wan(value)
    if unit == "10k yuan":
        return wan(float(value) * 10_000, 0)
    if unit in {"count", "months", "flag", "persons"}:
        return num(round(float(value)))
    return num(float(value), 1)


def said(key: str, fallback_key: str, **params) -> str:
    """``t(key)`` when the catalog has it, else the generic ``fallback_key`` text."""
    text = t(key, **params)
    return text if text != key else t(fallback_key, **params)


def pd_words(pd_value: float) -> str:
    level = (
        "very_low" if pd_value < 0.01
        else "low" if pd_value < 0.03
        else "moderate" if pd_value < 0.08
        else "elevated" if pd_value < 0.15
        else "high"
    )
    return t(
        "portrait.pd.sentence",
        pct=f"{num(pd_value * 100, 1)}%",
        n=num(max(1, round(1 / pd_value)) if pd_value > 0 else 1000),
        level=t(f"portrait.pd.level.{level}"),
    )


def radar_of(portrait) -> None:
    codes = list(portrait.sub_names)
    labels = [portrait.sub_names[c].get("en" if en else "zh_CN", c) for c in codes]
    values = [portrait.sub_indices.get(c) for c in codes]
    if not codes or all(v is None for v in values):
        st.caption(t("portrait.radar.none"))
        return
    figure = gauges.radar(labels, values, name=t("portrait.radar.you"), title=t("portrait.radar.title"))
    st.plotly_chart(figure, width="stretch", config=charts.CHART_CONFIG, key=PREFIX + "radar")


st.title(t("portrait.title"))
st.caption(t("portrait.caption"))
with st.spinner(t("common.loading")):
    portrait = scoring.credit_portrait(actor=actor, enterprise_id=actor.enterprise_id)
cutoffs = scoring.indicator_system().grade_cutoffs

# -------------------------------------------------------------------------- not rated / missing data
if portrait.status == "not_rated":
    st.info(f"**{t('portrait.not_rated.title')}** — {t('portrait.not_rated.body')}", icon=":material/schedule:")
    radar_of(portrait)
    st.stop()

if portrait.status != "rated":
    st.warning(f"**{t('portrait.insufficient.title')}**", icon=":material/data_alert:")
    st.markdown(t("portrait.insufficient.body"))
    groups = {data_group(f) for f in portrait.missing}
    for group in [g for g in GROUP_ORDER if g in groups]:
        with st.container(border=True):
            st.markdown(f"**{t(f'portrait.missing.{group}')}**")
            st.caption(t(f"portrait.supply.{group}"))
    st.info(t("portrait.insufficient.how"), icon=":material/dataset:")
    st.stop()  # no radar: a partial shape would read as a judgement

# ------------------------------------------------------------------------------------------ rated
st.caption(t("portrait.as_of", date=portrait.as_of.isoformat(), model=portrait.model_label or "—"))
left, right = st.columns([1, 1], gap="medium")
with left:
    kpi_cards(
        [
            Kpi(t("portrait.grade"), portrait.grade, help=t(f"portrait.grade_desc.{portrait.grade}")),
            Kpi(t("portrait.score"), num(portrait.score)),
        ],
        per_row=2,
        key="kpi_" + PREFIX + "grade",
    )
    st.badge(
        t(f"portrait.grade_desc.{portrait.grade}"),
        color="green" if portrait.grade in {"AAA", "AA", "A"} else "orange" if portrait.grade in {"BBB", "BB", "B"}
        else "red",
        icon=":material/verified:",
    )
    st.markdown(f"**{t('portrait.pd')}**  \n{pd_words(float(portrait.pd))}")
with right:
    gauge = gauges.score_gauge(portrait.score, grade=portrait.grade, cutoffs=cutoffs, title=t("portrait.gauge.title"))
    st.plotly_chart(gauge, width="stretch", config=charts.CHART_CONFIG, key=PREFIX + "gauge")

left, right = st.columns([1, 1], gap="medium")
with left:
    radar_of(portrait)
with right:
    trend = portrait.trend
    if len(trend) >= 2:
        figure = gauges.score_trend(trend, cutoffs=cutoffs, title=t("portrait.trend.title"))
        st.plotly_chart(figure, width="stretch", config=charts.CHART_CONFIG, key=PREFIX + "trend")
    else:
        st.markdown(f"**{t('portrait.trend.title')}**")
        st.caption(t("portrait.trend.none"))

st.subheader(t("portrait.reasons.title"))
if not portrait.reasons:
    st.caption(t("portrait.reasons.none"))
for reason in portrait.reasons:
    feature = str(reason.get("feature") or "")
    value = shown(feature, reason.get("value"))
    lost = num(reason.get("points_lost") or 0)
    text = said(reason.get("code", ""), "portrait.reasons.fallback", value=value, points_lost=lost,
                feature=feature, points=lost)
    st.markdown(f"- {text} · {t('rating.reason.points_lost', points_lost=lost)}")

st.subheader(t("portrait.raise.title"))
hint = portrait.raise_hint
if hint and hint.get("feature") and hint.get("grade"):
    feature = str(hint["feature"])
    params = {"from": shown(feature, hint.get("from")), "to": shown(feature, hint.get("to")), "grade": hint["grade"]}
    action = said(f"RC.{feature.upper()}.raise", "portrait.raise.fallback", feature=feature, **params)
    target = t("portrait.raise.target", score=num(hint.get("score") or 0), grade=hint["grade"])
    st.success(f"{action}  \n{target}", icon=":material/trending_up:")
else:
    st.caption(t("portrait.raise.none"))

st.subheader(t("portrait.peers.title"))
peers = portrait.peers or {}
if not peers.get("count"):
    st.caption(t("portrait.peers.none"))
else:
    st.caption(
        t(
            "portrait.peers.group",
            section=section(peers.get("industry_section", "")),
            scale=scale(peers.get("scale", "")),
            count=num(peers["count"]),
        )
    )
    percentile = peers.get("percentile")
    kpi_cards(
        [
            Kpi(t("portrait.peers.you"), num(portrait.score)),
            Kpi(t("portrait.peers.median"), num(peers.get("median_score")) if peers.get("median_score") else "—"),
            Kpi(
                t("portrait.peers.rank"),
                f"{num(percentile * 100)}%" if percentile is not None else "—",
            ),
        ],
        per_row=3,
        key="kpi_" + PREFIX + "peers",
    )
    if percentile is not None:
        st.caption(t("portrait.peers.percentile", pct=f"{num(percentile * 100)}%"))

