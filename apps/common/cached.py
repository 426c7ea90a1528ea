"""``st.cache_data`` wrappers for shared, non-private reads only (never one user's rows under a shared key).

Aggregates are keyed by the actor too, so the service's permission check runs for every new caller;
``core.cache`` already shares them across processes, this only saves the round trip per rerun.
"""

from __future__ import annotations

import streamlit as st

from core.auth import Actor
from core.services import directory

SHORT_TTL = 30  # seconds: dashboards stay close to live
DIRECTORY_TTL = 300


@st.cache_data(ttl=DIRECTORY_TTL, show_spinner=False)
def demo_identities(app: str, limit: int = 300) -> list[directory.DemoIdentity]:
    """The demo users an app's identity picker offers (the same for every visitor)."""
    return directory.demo_identities(app=app, limit=limit)


@st.cache_data(ttl=SHORT_TTL, show_spinner=False)
def platform_kpis(actor: Actor) -> dict:
    from core.services import analytics

    return analytics.platform_kpis(actor=actor)


@st.cache_data(ttl=SHORT_TTL, show_spinner=False)
def monthly_trend(actor: Actor, months: int = 24):
    from core.services import analytics

    return analytics.monthly_trend(actor=actor, months=months)


@st.cache_data(ttl=SHORT_TTL, show_spinner=False)
def district_breakdown(actor: Actor):
    from core.services import analytics

    return analytics.district_breakdown(actor=actor)
