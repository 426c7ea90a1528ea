"""Regulator app · 预警规则 / Warning rules: the published rule library with each rule's measured precision
and lead time, the version history, and — for holders of ``risk.manage`` — a draft to edit (parameters,
level, enable/disable), a dry run against current data, publish and roll back. Every write is audited
by the service; a bad parameter is refused with its message and nothing changes.
"""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from apps.common.actor import current_actor
from apps.common.i18n import current_locale, num, t
from apps.common.widgets import Kpi, data_table, kpi_cards, show_error
from core.auth import Permission
from core.errors import JinfuError
from core.services import risk_dry_run, risk_rules

PREFIX = "reg_rules_"
FLASH = PREFIX + "flash"
MANAGE = Permission.risk_manage


def done(key: str, **params) -> None:
    st.session_state[FLASH] = t(key, **params)
    st.rerun()


def call(fn, **kwargs):
    """Run a write; show a refusal in the user's language and return None."""
    try:
        return fn(actor=actor, **kwargs)
    except JinfuError as exc:
        show_error(exc)
        return None


actor = current_actor()
st.title(t("riskui.rules.title"))
if actor is None or not actor.can(Permission.oversight):
    st.info(t("riskui.forbidden"))
    st.stop()
en = current_locale() == "en"
can_manage = actor.can(MANAGE)
st.caption(t("riskui.rules.caption"))
if flash := st.session_state.pop(FLASH, None):
    st.success(flash, icon=":material/check_circle:")

history = risk_rules.risk_rule_set_history(actor=actor)
published = next((h for h in history if h.status == "published"), None)
draft = next((h for h in history if h.status == "draft"), None)
kpi_cards(
    [
        Kpi(t("riskui.rules.published"), f"v{published.set_version}" if published else "—"),
        Kpi(t("riskui.rules.rules"), num(published.rules) if published else "—"),
        Kpi(t("riskui.rules.enabled"), num(published.enabled) if published else "—"),
        Kpi(t("riskui.rules.draft"), f"v{draft.set_version}" if draft else t("riskui.rules.no_draft")),
    ],
    key=PREFIX + "kpis",
)


def rule_frame(rules: pd.DataFrame) -> pd.DataFrame:
    """The rule table as shown: names in the page's language, precision in %, params as text."""
    def col(name: str, default=None):
        return rules[name] if name in rules.columns else pd.Series(default, index=rules.index)

    name = col("name_en") if en else col("name")
    return pd.DataFrame({
        t("riskui.col.rule_code"): col("code"),
        t("riskui.col.name"): name.fillna(col("name")),
        t("riskui.col.category"): col("category"),
        t("riskui.col.level"): col("level"),
        t("riskui.col.enabled"): col("enabled"),
        t("riskui.col.version"): col("version"),
        t("riskui.col.params"): col("params").map(lambda p: json.dumps(p, ensure_ascii=False) if isinstance(p, dict)
                                                  else p),
        t("riskui.col.signals"): col("signals"),
        t("riskui.col.feedbacks"): col("feedback"),
        t("riskui.col.precision"): (pd.to_numeric(col("precision"), errors="coerce") * 100).round(1),
        t("riskui.col.lead_time"): pd.to_numeric(col("lead_time_days"), errors="coerce").round(0),
    })


tab_rules, tab_draft, tab_history = st.tabs(
    [t("riskui.rules.tab.rules"), t("riskui.rules.tab.draft"), t("riskui.rules.tab.history")]
)

# ---------------------------------------------------------------------------- the published rules
with tab_rules:
    rules = risk_rules.risk_rule_table(actor=actor)
    st.caption(t("riskui.rules.performance_note"))
    data_table(
        rule_frame(rules),
        filename="risk_rules",
        key=PREFIX + "table",
        column_config={t("riskui.col.enabled"): st.column_config.CheckboxColumn()},
    )

# ---------------------------------------------------------------------------------------- draft
with tab_draft:
    if not can_manage:
        st.info(t("riskui.rules.read_only"), icon=":material/visibility:")
    elif draft is None:
        note = st.text_input(t("riskui.rules.draft_note"), max_chars=500, key=PREFIX + "new_note")
        if st.button(t("riskui.rules.create_draft"), type="primary", icon=":material/edit_note:",
                     key=PREFIX + "create"):
            created = call(risk_rules.create_risk_draft, note=note or None)
            if created is not None:
                done("riskui.rules.draft_created", version=created.set_version)
    else:
        st.markdown(t("riskui.rules.draft_of", version=draft.set_version, note=draft.note or "—"))
        rules = risk_rules.risk_rule_table(actor=actor, set_version=draft.set_version)
        codes = list(rules["code"])
        by_code = {r["code"]: r for r in rules.to_dict("records")}
        code = st.selectbox(
            t("riskui.rules.pick"),
            options=codes,
            format_func={c: f"{c} · {r.get('name_en') if en else r.get('name')}" for c, r in by_code.items()}.get,
            key=PREFIX + "code",
        )
        rule = by_code[code]
        with st.form(PREFIX + f"edit_{code}", border=True):
            params_text = st.text_area(
                t("riskui.col.params"),
                value=json.dumps(rule.get("params") or {}, ensure_ascii=False, indent=1),
                help=t("riskui.rules.params_help"),
                key=PREFIX + f"params_{code}",
            )
            level = st.number_input(t("riskui.col.level"), min_value=1, max_value=8, value=int(rule["level"]),
                                    key=PREFIX + f"level_{code}")
            enabled = st.toggle(t("riskui.col.enabled"), value=bool(rule["enabled"]), key=PREFIX + f"enabled_{code}")
            if st.form_submit_button(t("riskui.rules.save"), icon=":material/save:"):
                try:
                    params = json.loads(params_text or "{}")
                except json.JSONDecodeError:
                    st.error(t("riskui.rules.bad_json"), icon=":material/error:")
                else:
                    saved = call(
                        risk_rules.update_risk_draft,
                        set_version=draft.set_version,
                        expected_version=draft.version,
                        changes={code: {"params": params, "level": int(level), "enabled": bool(enabled)}},
                    )
                    if saved is not None:
                        done("riskui.rules.saved", code=code)

        # Dry run: what the draft would flag compared with the published version.
        st.subheader(t("riskui.rules.dry_run"))
        if st.button(t("riskui.rules.run_dry"), icon=":material/science:", key=PREFIX + "dry"):
            with st.status(t("riskui.rules.dry_running"), expanded=False) as status:
                result = call(risk_dry_run.dry_run_risk_draft, set_version=draft.set_version)
                status.update(label=t("riskui.rules.dry_done"), state="complete")
            if result is not None:
                st.session_state[PREFIX + "dry_result"] = (draft.set_version, result)
        stored = st.session_state.get(PREFIX + "dry_result")
        result = stored[1] if stored and stored[0] == draft.set_version else None
        summary = draft.dry_run or {}
        if result is not None or summary:
            kpi_cards(
                [
                    Kpi(t("riskui.rules.newly"), num(result.newly_flagged if result else summary.get("newly_flagged"))),
                    Kpi(t("riskui.rules.no_longer"),
                        num(result.no_longer_flagged if result else summary.get("no_longer_flagged"))),
                    Kpi(t("riskui.rules.level_changes"),
                        num(result.level_changed if result else summary.get("level_changed"))),
                ],
                per_row=3,
                key=PREFIX + "dry_kpis",
            )
            st.caption(t("riskui.rules.dry_against", version=result.against_version if result
                         else summary.get("against", "—")))
            if result is not None:
                frame = result.frame
                data_table(
                    pd.DataFrame({
                        t("riskui.col.enterprise"): frame["enterprise_name"],
                        t("riskui.col.change"): frame["change"].map(lambda c: t(f"riskui.change.{c}")),
                        t("riskui.col.before"): frame["level_before"].astype("Int64"),
                        t("riskui.col.after"): frame["level_after"].astype("Int64"),
                    }),
                    filename=f"dry_run_v{draft.set_version}",
                    key=PREFIX + "dry_table",
                )

        st.subheader(t("riskui.rules.publish_title"))
        with st.container(horizontal=True, gap="small"):
            if st.button(t("riskui.rules.publish", version=draft.set_version), type="primary",
                         icon=":material/publish:", key=PREFIX + "publish"):
                if call(risk_rules.publish_risk_draft, set_version=draft.set_version,
                        expected_version=draft.version) is not None:
                    st.session_state.pop(PREFIX + "dry_result", None)
                    done("riskui.rules.published_done", version=draft.set_version)
            if st.button(t("riskui.rules.discard"), icon=":material/delete:", key=PREFIX + "discard"):
                try:
                    risk_rules.discard_risk_draft(actor=actor, set_version=draft.set_version, expected_version=draft.version)
                except JinfuError as exc:
                    show_error(exc)
                else:
                    done("riskui.rules.discarded", version=draft.set_version)

# -------------------------------------------------------------------------------------- history
with tab_history:
    frame = pd.DataFrame([h.model_dump() for h in history])
    if frame.empty:
        st.info(t("common.no_data"))
    else:
        data_table(
            pd.DataFrame({
                t("riskui.col.set_version"): frame["set_version"],
                t("riskui.col.status"): frame["status"].map(lambda s: t(f"riskui.set_status.{s}")),
                t("riskui.col.rules"): frame["rules"],
                t("riskui.col.enabled"): frame["enabled"],
                t("riskui.col.note"): frame["note"],
                t("riskui.col.created_at"): frame["created_at"],
                t("riskui.col.published_at"): frame["published_at"],
            }),
            filename="risk_rule_sets",
            key=PREFIX + "history",
        )
    if can_manage and published is not None:
        with st.form(PREFIX + "rollback_form", border=True):
            st.markdown(t("riskui.rules.rollback_explain", version=published.set_version))
            reason = st.text_input(t("riskui.rules.rollback_note"), max_chars=500, key=PREFIX + "rollback_note")
            if st.form_submit_button(t("riskui.rules.rollback"), icon=":material/undo:"):
                back = call(risk_rules.rollback_risk_rule_set, expected_version=published.version,
                            note=reason or None)
                if back is not None:
                    done("riskui.rules.rolled_back", version=back.set_version)
