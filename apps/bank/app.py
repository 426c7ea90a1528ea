"""Bank app router: page config, language switch, demo identity, and the pages institution staff may see."""

from __future__ import annotations

import streamlit as st

from apps.common.actor import fits_app, identity_picker
from apps.common.frame import app_title, choose_identity_page, setup_frame
from apps.common.i18n import t
from apps.common.widgets import run_page
from core.auth import Permission

APP = "bank"

setup_frame(APP, icon="🏦")
actor = identity_picker(APP)

pages = []
if fits_app(actor, APP) and actor.organization_id is not None:
    if actor.can(Permission.products_manage):
        pages.append(
            st.Page(
                "app_pages/products/our_products.py",
                title=t("bank.nav.products"),
                icon=":material/inventory_2:",
                url_path="products",
            )
        )
    if actor.can(Permission.applications_institution):
        pages.append(
            st.Page(
                "app_pages/applications/inbox.py",
                title=t("bank.nav.applications"),
                icon=":material/assignment:",
                url_path="applications",
            )
        )
if not pages:
    pages = [choose_identity_page(APP)]

st.sidebar.caption(app_title(APP))
run_page(st.navigation(pages, position="top"))
