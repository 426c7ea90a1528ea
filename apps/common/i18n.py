"""The session's language: ``t(key, **params)`` and the 中文/English switch (kept in the URL as ``?lang=``)."""

from __future__ import annotations

from collections.abc import Iterable

import streamlit as st

from core import reference
from core.i18n import (
    DEFAULT_LOCALE,
    LOCALE_LABELS,
    SUPPORTED_LOCALES,
    format_money_wan,
    format_money_yi,
    format_number,
    normalize_locale,
    translate,
)

LANG_KEY = "lang"  # the widget key and the query parameter name


def current_locale() -> str:
    """The locale chosen in this session (widget state, else the ``lang`` query parameter)."""
    value = st.session_state.get(LANG_KEY)
    if not value:
        value = st.query_params.get(LANG_KEY)
    return normalize_locale(value)


def t(key: str, /, **params: object) -> str:
    """The message ``key`` in the session's language."""
    return translate(key, current_locale(), **params)


def _sync_url() -> None:
    """Mirror the chosen language into the URL (``?lang=en``); the default language keeps the URL clean."""
    locale = normalize_locale(st.session_state.get(LANG_KEY))
    if locale == DEFAULT_LOCALE:
        if LANG_KEY in st.query_params:
            del st.query_params[LANG_KEY]
    elif st.query_params.get(LANG_KEY) != locale:
        st.query_params[LANG_KEY] = locale


def language_switch() -> str:
    """Draw the language switch in the sidebar; return the chosen locale.

    The first run of a session takes the language from ``?lang=``; afterwards the widget decides
    and the URL follows it (also after a page switch, which clears query parameters).
    """
    if st.session_state.get(LANG_KEY) not in SUPPORTED_LOCALES:
        st.session_state[LANG_KEY] = normalize_locale(st.query_params.get(LANG_KEY))
    st.sidebar.segmented_control(
        t("common.lang"),
        options=list(SUPPORTED_LOCALES),
        format_func=lambda loc: LOCALE_LABELS.get(loc, loc),
        required=True,
        key=LANG_KEY,
        on_change=_sync_url,
    )
    _sync_url()
    return current_locale()


# -- formatting in the session's language -------------------------------------------------------


def num(value, digits: int = 0) -> str:
    return format_number(value, current_locale(), digits)


def wan(yuan, digits: int = 1) -> str:
    """Yuan as 万元 text."""
    return format_money_wan(yuan, current_locale(), digits)


def yi(yuan, digits: int = 2) -> str:
    """Yuan as 亿元 text."""
    return format_money_yi(yuan, current_locale(), digits)


def join(items: Iterable[str]) -> str:
    return t("common.list_sep").join(items)


def district(code: str | None) -> str:
    return reference.district_name(code, current_locale())


def section(code: str) -> str:
    """A GB/T 4754 industry section's name (门类) in the session's language."""
    table = reference.industry_sections().set_index("section")
    if code not in table.index:
        return code
    return str(table.at[code, "name_en" if current_locale() == "en" else "name"])


def scale(value: str) -> str:
    return t(f"scale.{value}")


def explain(missing) -> str:
    """One failed eligibility criterion (``products.MissingCriterion``) in plain words."""
    params = dict(missing.params)
    if "districts" in params:
        params["districts"] = join(district(c) for c in params["districts"])
    if "sections" in params:
        params["sections"] = join(section(c) for c in params["sections"])
    if "scales" in params:
        params["scales"] = join(scale(s) for s in params["scales"])
    return t(missing.key, **params)
