"""The frame every app's router draws: page config, language switch, phone-friendly CSS, readiness check,
and the page shown to a signed-in person who may see none of the app's pages."""

from __future__ import annotations

import streamlit as st

from apps.common.i18n import language_switch, t
from apps.common.widgets import require_database
from core import reference
from core.i18n import normalize_locale

# Small-screen tweaks: tighter padding and metric text that wraps instead of being cut off.
_CSS = """
<style>
@media (max-width: 640px) {
  .block-container, [data-testid="stMainBlockContainer"] { padding-left: 0.8rem; padding-right: 0.8rem; padding-top: 3.2rem; }
  h1 { font-size: 1.6rem !important; }
  /* KPI cards: two per row on phones instead of one. */
  [class*="st-key-kpi_"] [data-testid="stHorizontalBlock"] { flex-wrap: wrap; gap: 0.5rem; }
  [class*="st-key-kpi_"] [data-testid="stColumn"] {
    min-width: calc(50% - 0.25rem) !important; flex: 1 1 calc(50% - 0.25rem) !important;
  }
  [class*="st-key-kpi_"] [data-testid="stColumn"]:empty { display: none; }
}
/* Sign-in and "not for you" pages: a readable card, a title that breaks between words only. */
.st-key-auth_card { max-width: 38rem; }
.st-key-auth_gate h1 { word-break: keep-all; overflow-wrap: anywhere; }
[data-testid="stMetricValue"] { font-size: clamp(1.25rem, 2.1vw, 1.9rem); }
[data-testid="stMetricValue"] p, [data-testid="stMetricLabel"] p {
  white-space: normal !important; overflow: visible !important; text-overflow: clip !important;
  overflow-wrap: anywhere; line-height: 1.3;
}
</style>
"""


def app_title(app: str) -> str:
    """ "衡水市金融服务平台 · 企业服务" in the session's language."""
    city = reference.city()
    name = city.get("name_en") if _is_en() else city.get("name")
    return f"{t('common.platform', city=name)} · {t(f'common.app.{app}')}"


def _is_en() -> bool:
    return normalize_locale(st.session_state.get("lang")) == "en"


def setup_frame(app: str, *, icon: str) -> None:
    """Page config, the language switch and the readiness check, in that order."""
    st.set_page_config(page_title=t(f"common.app.{app}"), page_icon=icon, layout="wide")
    language_switch()
    st.html(_CSS)
    require_database()


def choose_identity_page(app: str) -> st.Page:
    """The only page shown to a signed-in person who may see none of this app's pages."""

    def no_pages() -> None:
        st.title(app_title(app))
        st.info(t("common.auth.no_pages"), icon=":material/lock:")

    return st.Page(
        no_pages, title=t(f"common.app.{app}"), icon=":material/lock:", url_path="welcome", default=True
    )
