"""Bank app router: page config, language switch, identity, and the pages institution staff may see."""

from __future__ import annotations

import streamlit as st

from apps.bank.pages import PAGES
from apps.common.actor import identity_picker
from apps.common.frame import app_title, setup_frame
from apps.common.navigation import pages_for
from apps.common.widgets import run_page

APP = "bank"

setup_frame(APP, icon="🏦")
actor = identity_picker(APP)
st.sidebar.caption(app_title(APP))
run_page(st.navigation(pages_for(APP, actor, PAGES), position="top"))
