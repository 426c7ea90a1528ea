"""Enterprise app router: page config, language switch, demo identity, and the pages an enterprise may see."""

from __future__ import annotations

import streamlit as st

from apps.common.actor import fits_app, identity_picker
from apps.common.frame import app_title, choose_identity_page, setup_frame
from apps.common.i18n import t
from apps.common.widgets import run_page

APP = "enterprise"

setup_frame(APP, icon="🏢")
actor = identity_picker(APP)

if fits_app(actor, APP) and actor.enterprise_id is not None:
    pages = [
        st.Page(
            "app_pages/profile/overview.py",
            title=t("ent.nav.profile"),
            icon=":material/storefront:",
            url_path="profile",
            default=True,
        ),
        st.Page(
            "app_pages/products/for_me.py",
            title=t("ent.nav.products"),
            icon=":material/shopping_bag:",
            url_path="products",
        ),
    ]
else:
    pages = [choose_identity_page(APP)]

st.sidebar.caption(app_title(APP))
run_page(st.navigation(pages, position="top"))
