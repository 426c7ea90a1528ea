"""Smoke test: every Streamlit page and every app router runs under AppTest with a seeded actor.

Pages are discovered with a glob, so a new page is covered the day it is added. Each runs against
the seeded demo database with an actor of the app's role, in Chinese and once in English, and must
raise nothing and render its main heading.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.services import directory

ROOT = Path(__file__).resolve().parents[2]
APPS_DIR = ROOT / "apps"
PAGES = sorted(APPS_DIR.glob("*/app_pages/**/*.py"))
ROUTERS = sorted(p for p in APPS_DIR.glob("*/app.py") if (p.parent / "app_pages").is_dir())
TIMEOUT = 60


def _app_of(path: Path) -> str:
    return path.relative_to(APPS_DIR).parts[0]


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def seeded_actor(app: str):
    """The first seeded demo user whose role fits ``app``, as an Actor."""
    identities = directory.demo_identities(app=app)
    assert identities, f"the seeded database has no demo user for the {app} app"
    return directory.demo_actor(user_id=identities[0].user_id)


def run(path: Path, app: str, *, lang: str | None = None) -> AppTest:
    at = AppTest.from_file(str(path), default_timeout=TIMEOUT)
    at.session_state["actor"] = seeded_actor(app)
    if lang:
        at.query_params["lang"] = lang
    return at.run()


def main_text(at: AppTest) -> str:
    parts = [e.value for e in at.title] + [e.value for e in at.subheader] + [e.value for e in at.info]
    return " ".join(str(p) for p in parts)


def test_every_app_has_pages():
    assert {_app_of(p) for p in PAGES} >= {"enterprise", "bank", "regulator"}


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES, ids=_rel)
def test_page_renders_without_exception(seeded_db, page):
    at = run(page, _app_of(page))
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert at.title, "the page rendered no heading"


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES, ids=_rel)
def test_page_renders_in_english(seeded_db, page):
    at = AppTest.from_file(str(page), default_timeout=TIMEOUT)
    at.session_state["actor"] = seeded_actor(_app_of(page))
    at.session_state["lang"] = "en"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    text = main_text(at)
    assert text and not any("\u4e00" <= ch <= "\u9fff" for ch in text.replace(at.title[0].value, "")), text


@pytest.mark.slow
@pytest.mark.parametrize("router", ROUTERS, ids=_rel)
def test_router_renders_default_page_with_language_switch(seeded_db, router):
    at = run(router, _app_of(router))
    assert not at.exception, [e.value for e in at.exception]
    assert at.title
    assert not at.sidebar.selectbox, "the demo identity picker is gone: who signed in decides"
    assert [b.label for b in at.sidebar.button] == ["退出登录"]
    en = run(router, _app_of(router), lang="en")  # ?lang=en in the URL
    assert not en.exception, [e.value for e in en.exception]
    assert en.session_state["lang"] == "en"
    assert [b.label for b in en.sidebar.button] == ["Sign out"]


@pytest.mark.slow
@pytest.mark.parametrize("router", ROUTERS, ids=_rel)
def test_router_without_sign_in_shows_only_the_sign_in_page(seeded_db, router):
    at = AppTest.from_file(str(router), default_timeout=TIMEOUT).run()
    assert not at.exception, [e.value for e in at.exception]
    assert "actor" not in at.session_state
    assert at.subheader[0].value == "登录"
    assert not at.dataframe and not at.metric


def test_unmigrated_database_shows_a_friendly_message(tmp_path, monkeypatch):
    from tests.conftest import use_database

    use_database(monkeypatch, f"sqlite:///{tmp_path / 'empty.db'}")
    at = AppTest.from_file(str(APPS_DIR / "enterprise" / "app.py"), default_timeout=TIMEOUT).run()
    assert not at.exception
    assert at.warning and "alembic" in at.warning[0].value


@pytest.mark.slow
def test_profile_of_a_firm_that_never_borrowed_shows_the_first_loan_hint(seeded_db):
    for identity in directory.demo_identities(app="enterprise"):
        actor = directory.demo_actor(user_id=identity.user_id)
        if not directory.enterprise_profile(actor=actor, enterprise_id=actor.enterprise_id).has_had_loan:
            break
    else:
        pytest.skip("every seeded demo enterprise has borrowed")
    at = AppTest.from_file(
        str(APPS_DIR / "enterprise/app_pages/profile/overview.py"), default_timeout=TIMEOUT
    )
    at.session_state["actor"] = actor
    at.run()
    assert not at.exception
    assert any("首贷" in e.value for e in at.info)
