"""Page registries as data: each app lists its pages once (``apps/<app>/pages.py``); the router shows a
role only the pages it may see — a page not registered for the actor cannot be reached by URL."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import streamlit as st

from apps.common.actor import fits_app
from apps.common.frame import choose_identity_page
from apps.common.i18n import t
from core.auth import Actor, Permission


@dataclass(frozen=True)
class PageSpec:
    """One page of an app and who may see it."""

    path: str  # relative to the app folder, e.g. "app_pages/profile/overview.py"
    title_key: str
    icon: str
    url_path: str
    permission: Permission | None = None
    needs_enterprise: bool = False  # only for actors acting for one enterprise
    needs_organization: bool = False  # only for actors belonging to an organization
    default: bool = False

    def visible_to(self, actor: Actor) -> bool:
        if self.permission is not None and not actor.can(self.permission):
            return False
        if self.needs_enterprise and actor.enterprise_id is None:
            return False
        return not (self.needs_organization and actor.organization_id is None)


def pages_for(app: str, actor: Actor | None, specs: Sequence[PageSpec]) -> list[st.Page]:
    """The st.Page objects ``actor`` may open in ``app`` (a welcome page when none)."""
    if actor is None or not fits_app(actor, app):
        return [choose_identity_page(app)]
    visible = [s for s in specs if s.visible_to(actor)]
    if not visible:
        return [choose_identity_page(app)]
    has_default = any(s.default for s in visible)
    return [
        st.Page(
            s.path,
            title=t(s.title_key),
            icon=s.icon,
            url_path=s.url_path,
            default=s.default or (not has_default and i == 0),
        )
        for i, s in enumerate(visible)
    ]
