"""Rating services on both databases: training on outcomes, maker-checker approval, batch and incremental
rating, the portrait and its row rules."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import func, select

from core.auth import Actor
from core.auth.actor import SYSTEM_ACTOR
from core.db import session_scope
from core.errors import ForbiddenError, InvalidError, StaleVersionError
from core.models import CreditScore, DataAccessLog, GovRecord, ScoringModel
from core.models.types import GovSource, ModelStatus, OrgKind, Scale
from core.services import rating_runs, scoring, scoring_models
from core.services.scoring import NoApprovedModelError
from core.services.scoring_models import SelfApprovalError, TrainingDataError
from tests import factories
from tests.integration.permission_rules.scoring import draft_model, outcome_world

AS_OF = date(2026, 10, 31)
BREAKDOWN_KEYS = {"status", "composite", "card_score", "card_pd", "coverage", "sub", "reasons", "raise", "model",
                  "indicator_version", "card_weight"}


@pytest.fixture
def people(db):
    with session_scope() as s:
        reg = factories.institution(s, kind=OrgKind.regulator)
        op = factories.institution(s, kind=OrgKind.operator)
        analyst = factories.user(s, reg, ["regulator_analyst"])
        admin = factories.user(s, reg, ["regulator_admin"])
        admin2 = factories.user(s, reg, ["regulator_admin"])
        operator = factories.user(s, op, ["operator"])
    return {
        "analyst": Actor(analyst.id, "analyst", frozenset({"regulator_analyst"}), reg.id),
        "admin": Actor(admin.id, "admin", frozenset({"regulator_admin"}), reg.id),
        "admin2": Actor(admin2.id, "admin2", frozenset({"regulator_admin"}), reg.id),
        "operator": Actor(operator.id, "operator", frozenset({"operator"}), op.id),
    }


def _train(actor, **kw):
    return scoring_models.train_model(actor=actor, as_of=AS_OF, min_segment_rows=20, min_segment_bads=5, **kw)


def _scores() -> list[CreditScore]:
    with session_scope() as s:
        return list(s.exec(select(CreditScore)))


def test_training_on_outcomes_records_metrics_and_starts_as_draft(people):
    outcome_world(as_of=AS_OF, segments={("C", Scale.small): (12, 24), ("F", Scale.micro): (2, 4)})
    made = _train(people["analyst"])
    assert made.status == "draft" and made.model_version == "v1" and made.name == "jinfu-scorecard"
    assert made.rows == 42 and made.bads == 14
    assert made.auc is not None and made.auc > 0.7  # the arrears explain the defaults on held-out firms
    with session_scope() as s:
        model = s.get(ScoringModel, made.id)
        m, p = model.metrics, model.parameters
    assert {"ks", "gini", "holdout_rows", "window", "features", "score_hist", "config"} <= set(m)
    assert m["config"]["pdo"] == 20.0 and p["trained_by_id"] == people["analyst"].user_id
    # The thin segment falls back to the population card; the big one has its own.
    assert m["segment_cards"] == ["C:small"] and "F:micro" in m["fallback"]
    assert "si_arrears_24m" in m["features"] or "arrears_12m" in m["features"] or "months_since_arrears" in m["features"]
    assert _train(people["analyst"]).model_version == "v2"


def test_training_refuses_without_enough_outcomes(people):
    outcome_world(as_of=AS_OF, segments={("C", Scale.small): (2, 10)})
    with pytest.raises(TrainingDataError):
        _train(people["analyst"])
    with pytest.raises(InvalidError):
        scoring_models.train_model(actor=people["analyst"], card_weight=1.5)
    with session_scope() as s:
        assert s.exec(select(func.count()).select_from(ScoringModel)).one() == 0


def test_maker_checker_and_stale_versions(people):
    mine = draft_model(trained_by_id=people["admin"].user_id)
    with pytest.raises(SelfApprovalError):
        scoring_models.approve_model(actor=people["admin"], model_id=mine, version=1)
    first = scoring_models.approve_model(actor=people["admin2"], model_id=mine, version=1)
    assert first.status == "approved" and first.approved_by
    # Two approvers read version 1 of the next draft; the second one's approval is stale.
    other = draft_model(trained_by_id=people["analyst"].user_id)
    scoring_models.approve_model(actor=people["admin"], model_id=other, version=1)
    with pytest.raises(StaleVersionError):
        scoring_models.approve_model(actor=people["admin2"], model_id=other, version=1)
    listed = scoring_models.list_models(actor=people["analyst"]).set_index("id")
    assert listed.loc[other, "status"] == "approved" and listed.loc[mine, "status"] == "retired"
    with pytest.raises(ForbiddenError):
        scoring_models.approve_model(actor=people["analyst"], model_id=other, version=2)


def test_only_an_approved_model_rates(people):
    with session_scope() as s:
        factories.enterprise(s)
    draft_model()
    with pytest.raises(NoApprovedModelError):
        rating_runs.run_batch_rating(actor=people["operator"], as_of=AS_OF)
    assert _scores() == []


def test_batch_rating_writes_one_row_per_rated_enterprise_and_is_idempotent(people):
    world = outcome_world(as_of=AS_OF)
    with session_scope() as s:
        empty = factories.enterprise(s).id  # no record at all: no score row, counted
    approved = draft_model(status=ModelStatus.approved)
    seen = []
    report = rating_runs.run_batch_rating(actor=people["operator"], as_of=AS_OF,
                                          progress=lambda f, stage: seen.append((f, stage)))
    rated = {s.enterprise_id for s in _scores()}
    assert report.rated == len(rated) == len(world["bad"]) + len(world["good"])
    assert empty not in rated and report.insufficient == 1 and report.insufficient_reasons == {"no_data": 1}
    assert seen[-1] == (1.0, "done") and all(0 <= f <= 1 for f, _ in seen)
    row = _scores()[0]
    assert set(row.breakdown) == BREAKDOWN_KEYS and row.breakdown["model"]["id"] == approved
    assert all(code.startswith("RC.") for code in row.reason_codes)
    again = rating_runs.run_batch_rating(actor=people["operator"], as_of=AS_OF)
    assert again.rated == report.rated and len(_scores()) == report.rated
    with session_scope() as s:
        monitoring = s.get(ScoringModel, approved).metrics["monitoring"]
    assert monitoring["score_band"] in {"ok", "watch", "alert"}


def test_incremental_rerating_touches_only_changed_enterprises(people):
    world = outcome_world(as_of=AS_OF)
    draft_model(status=ModelStatus.approved)
    rating_runs.run_batch_rating(actor=people["operator"], as_of=AS_OF)
    assert rating_runs.rerate_changed(actor=people["operator"], as_of=AS_OF).enterprises == 0
    changed = world["good"][0]
    with session_scope() as s:
        s.add(GovRecord(enterprise_id=changed, source=GovSource.social_insurance, kind="si_arrears",
                        period=date(2026, 9, 1), ref="late", value=1.0,
                        received_at=datetime.now(UTC) + timedelta(seconds=1)))
    report = rating_runs.rerate_changed(actor=people["operator"], as_of=AS_OF)
    assert report.enterprises == 1 and report.rated == 1
    explicit = rating_runs.rerate_enterprises(actor=people["operator"], enterprise_ids=world["bad"][:2],
                                              reason="异议更正后重评", as_of=AS_OF)
    assert explicit.rated == 2 and len(_scores()) == len(world["bad"]) + len(world["good"])
    with pytest.raises(InvalidError):
        rating_runs.rerate_enterprises(actor=people["operator"], enterprise_ids=[], reason="x")


@pytest.mark.parametrize("band_of", [scoring_models.band_of])
def test_psi_bands(band_of):
    assert [band_of(v) for v in (0.0, 0.099, 0.10, 0.249, 0.25, 1.3)] == ["ok", "ok", "watch", "watch", "alert",
                                                                          "alert"]
    assert band_of(None) is None


def test_portrait_shapes_and_row_rules(people):
    world = outcome_world(as_of=AS_OF)
    with session_scope() as s:
        bare = factories.enterprise(s)
        ent_org = factories.institution(s, kind=OrgKind.enterprise, enterprise_id=world["good"][0])
        bank = factories.institution(s)
        user = factories.user(s, ent_org, ["enterprise_user"])
        officer = factories.user(s, bank, ["bank_officer"])
        bare_id = bare.id
    owner = Actor(user.id, "owner", frozenset({"enterprise_user"}), ent_org.id, world["good"][0])
    staff = Actor(officer.id, "officer", frozenset({"bank_officer"}), bank.id)
    before = scoring.credit_portrait(actor=owner, enterprise_id=world["good"][0])
    assert before.status == "not_rated" and before.score is None and before.trend.empty
    lacking = scoring.credit_portrait(actor=people["analyst"], enterprise_id=bare_id)
    assert lacking.status == "insufficient_data" and "tax_months_paid_12m" in lacking.missing
    draft_model(status=ModelStatus.approved)
    rating_runs.run_batch_rating(actor=people["operator"], as_of=AS_OF)
    p = scoring.credit_portrait(actor=owner, enterprise_id=world["good"][0])
    assert p.status == "rated" and 0 <= p.score <= 1000 and p.grade and 0 <= p.pd <= 1
    assert set(p.sub_indices) == set(p.sub_names) == {"OPS", "TAX", "PERF", "LEGAL", "FIN", "BASIC"}
    assert p.sub_names["TAX"] == {"zh_CN": "纳税信用", "en": "Tax"}
    assert list(p.trend.columns) == ["as_of", "score", "grade"] and p.as_of == AS_OF
    assert p.peers["count"] >= 1 and p.model_label.startswith("jinfu-scorecard")
    with pytest.raises(ForbiddenError):
        scoring.credit_portrait(actor=owner, enterprise_id=world["bad"][0])
    with pytest.raises(ForbiddenError):
        scoring.credit_portrait(actor=staff, enterprise_id=world["good"][0])
    from core.services import consent

    consent.grant_consent(actor=owner, institution_id=bank.id, scopes=["credit"], purpose="申请贷款", days=30,
                          idempotency_key="portrait-0001")
    assert scoring.credit_portrait(actor=staff, enterprise_id=world["good"][0]).status == "rated"
    with session_scope() as s:
        logged = s.exec(select(DataAccessLog).where(DataAccessLog.institution_id == bank.id)).all()
    assert len(logged) == 1 and logged[0].scope == "credit"


def test_bootstrap_trains_approves_and_rates_once(people):
    world = outcome_world(as_of=AS_OF)
    with session_scope() as s:
        assert s.exec(select(func.count()).select_from(ScoringModel)).one() == 0
    first = rating_runs.bootstrap_demo_rating(actor=SYSTEM_ACTOR, as_of=AS_OF)
    assert not first.skipped and first.rated == len(world["bad"]) + len(world["good"])
    with session_scope() as s:
        model = s.exec(select(ScoringModel)).one()
    assert model.status == ModelStatus.approved and model.approved_by_id is None
    assert rating_runs.bootstrap_demo_rating(actor=SYSTEM_ACTOR, as_of=AS_OF).skipped
    dist = rating_runs.rating_distribution(actor=people["analyst"])
    assert int(dist["count"].sum()) == first.rated
