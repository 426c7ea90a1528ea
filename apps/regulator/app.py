"""Regulator app router: page config, language switch, demo identity, and the pages a regulator may see."""

from __future__ import annotations

import streamlit as st

from apps.common.actor import fits_app, identity_picker
from apps.common.frame import app_title, choose_identity_page, setup_frame
from apps.common.i18n import t
from apps.common.widgets import run_page
from core.auth import Permission

APP = "regulator"

setup_frame(APP, icon="🏛️")
actor = identity_picker(APP)

pages = []
if fits_app(actor, APP) and actor.can(Permission.platform_stats):
    pages.append(
        st.Page(
            "app_pages/overview/platform.py",
            title=t("reg.nav.overview"),
            icon=":material/monitoring:",
            url_path="overview",
            default=True,
        )
    )
if not pages:
    pages = [choose_identity_page(APP)]

st.sidebar.caption(app_title(APP))
run_page(st.navigation(pages, position="top"))
