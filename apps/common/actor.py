"""Who is using the app: ``current_actor()`` and, for the walking skeleton, the demo identity picker.

Tests seed ``st.session_state["actor"]``. Until OIDC sign-in arrives, each app's sidebar offers the
seeded demo users whose roles fit that app; this module is the one place sign-in will replace.
"""

from __future__ import annotations

import streamlit as st

from apps.common import cached
from apps.common.i18n import current_locale, t
from core.auth import Actor
from core.errors import ForbiddenError
from core.services import directory

ACTOR_KEY = "actor"
PICK_KEY = "identity_pick"


def current_actor() -> Actor | None:
    """The actor of this session, or None before one is chosen."""
    actor = st.session_state.get(ACTOR_KEY)
    return actor if isinstance(actor, Actor) else None


def fits_app(actor: Actor | None, app: str) -> bool:
    """Whether ``actor`` holds a role the ``app`` serves."""
    return actor is not None and actor.has_role(*directory.DEMO_ROLE_GROUPS.get(app, ()))


def _label(identity: directory.DemoIdentity) -> str:
    org = (
        identity.organization_name_en if current_locale() == "en" and identity.organization_name_en else None
    )
    return f"{identity.display_name} · {org or identity.organization_name}"


def identity_picker(app: str) -> Actor | None:
    """Sidebar: pick a demo identity for ``app``; keep the chosen Actor in session state and return it."""
    actor = current_actor()
    try:
        identities = cached.demo_identities(app)
    except ForbiddenError:  # production: no demo identities, sign-in only
        return actor if fits_app(actor, app) else None
    by_id = {i.user_id: i for i in identities}
    if fits_app(actor, app) and actor.user_id not in by_id:
        # Seeded by a test or a real sign-in: keep it, nothing to pick.
        org = directory.get_organization(actor=actor, organization_id=actor.organization_id)
        st.sidebar.caption(t("common.signed_in_as", name=actor.label, org=org.name))
        return actor
    if not identities:
        st.sidebar.info(t("common.identity.none"))
        return actor if fits_app(actor, app) else None
    if st.session_state.get(PICK_KEY) not in by_id:
        st.session_state[PICK_KEY] = actor.user_id if fits_app(actor, app) else identities[0].user_id
    picked = st.sidebar.selectbox(
        t("common.identity"),
        options=list(by_id),
        format_func=lambda uid: _label(by_id[uid]),
        key=PICK_KEY,
        help=t("common.identity.help"),
    )
    if actor is None or actor.user_id != picked:
        actor = directory.demo_actor(user_id=picked, locale=current_locale())
        st.session_state[ACTOR_KEY] = actor
    return actor
