"""Regulator app router: page config, language switch, sign-in, and the pages a regulator may see."""

from __future__ import annotations

import streamlit as st

from apps.common import auth
from apps.common.frame import app_title, setup_frame
from apps.common.widgets import run_page
from apps.regulator.pages import PAGES

APP = "regulator"

setup_frame(APP, icon="🏛️")
verdict = auth.resolve(APP)  # st.user → Actor in session state, or the sign-in / not-for-you page
st.sidebar.caption(app_title(APP))
run_page(st.navigation(auth.router_pages(APP, verdict, PAGES), position="top"))
