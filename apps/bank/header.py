"""The header every institution page starts with: the signed-in staff member and their institution."""

from __future__ import annotations

import streamlit as st

from apps.common.actor import current_actor
from apps.common.i18n import current_locale, t
from core.auth import Actor
from core.services import directory


def institution_header(title_key: str, caption_key: str) -> Actor:
    """Title and "institution" caption; stops the page for an actor without an institution."""
    actor = current_actor()
    if actor is None or actor.organization_id is None:
        st.info(t("bank.no_institution"))
        st.stop()
    institution = directory.get_organization(actor=actor, organization_id=actor.organization_id)
    name = institution.name_en if current_locale() == "en" and institution.name_en else institution.name
    st.title(t(title_key))
    st.caption(t(caption_key, institution=name))
    return actor
