"""The demo seed ends with the first early-warning run: the script reports it (or skips it with
``--no-risk``) and the shared seeded database of the tests carries its signals."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func
from sqlmodel import select

from core.db import reset_engine, session_scope
from core.models import RiskRuleSet, RiskSignal
from scripts import seed_demo


def _signals() -> int:
    with session_scope() as s:
        return int(s.exec(select(func.count()).select_from(RiskSignal)).one())


def test_the_seeded_database_holds_the_first_risk_run(seeded_db):
    assert _signals() > 0
    with session_scope() as s:
        assert s.exec(select(RiskRuleSet.set_version).where(RiskRuleSet.status == "published")).one() == 1


@pytest.mark.slow
def test_the_seed_script_runs_the_risk_rules_once_and_reports_them(tmp_path, monkeypatch, capsys):
    url = f"sqlite:///{tmp_path / 'seed.db'}"
    monkeypatch.setenv("DATABASE_URL", url)  # the script points the services at its database; restored after
    assert seed_demo.main(["--database-url", url, "--scale", "small", "--json", "--no-progress"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["risk"]["mode"] == "bootstrap" and report["risk"]["failed_rules"] == []
    assert report["risk"]["raised"] == _signals() > 0
    assert "rules" not in report["risk"]  # the per-rule rows stay in the run's own report
    reset_engine()


def test_no_risk_and_no_rating_each_skip_the_risk_run():
    parse = seed_demo._parser().parse_args
    assert parse(["--no-risk"]).no_risk and not parse([]).no_risk
    assert parse(["--no-rating"]).no_rating  # no rating → no risk run (main checks the rating ran)
