"""Who is using the app: ``current_actor()`` and which roles each Streamlit app serves.

The router (``apps.common.auth.resolve``) puts the signed-in person's ``Actor`` into
``st.session_state["actor"]`` on every rerun and removes it when the sign-in ends; pages read it
with ``current_actor()``. Tests seed the same key directly (AppTest cannot sign in through OIDC).
"""

from __future__ import annotations

import streamlit as st

from core.auth import Actor, Role

ACTOR_KEY = "actor"

# The roles each app serves; a signed-in person with none of them sees the "not for you" page.
APP_ROLES: dict[str, frozenset[str]] = {
    "enterprise": frozenset({Role.enterprise_user, Role.enterprise_admin}),
    "bank": frozenset(
        {Role.bank_officer, Role.bank_manager, Role.bank_admin, Role.guarantee_staff, Role.insurer_staff}
    ),
    # Wall viewers (leaders) may also open the read-only platform overview on a tablet or laptop.
    "regulator": frozenset({Role.regulator_analyst, Role.regulator_admin, Role.operator, Role.wall_viewer}),
}


def current_actor() -> Actor | None:
    """The actor of this session, or None before sign-in."""
    actor = st.session_state.get(ACTOR_KEY)
    return actor if isinstance(actor, Actor) else None


def fits_app(actor: Actor | None, app: str) -> bool:
    """Whether ``actor`` holds a role the ``app`` serves."""
    return actor is not None and actor.has_role(*APP_ROLES.get(app, ()))
