"""A tiny world with known data-quality defects, and a six-rule set taken from v1, so scores are hand-computable.

Rules (their v1 definitions): MKT-006 credit code check (critical, w5), MKT-023 duplicate names
(warning, w2), SI-009 insured headcount ≤ 1.5 × employees + 2 (warning, w2), SI-004 social insurance
not stale (error, w3), TAX-004 tax not stale (error, w3), FIN-002 revenue ≥ 0 (error, w3; no
statements exist, so it checks nothing and scores nothing).

Defects as of 2026-10-31: E2's credit code fails its check character; E1 and E3 share a name; E2
reports 30 insured staff with 10 employees; the tax department's latest month is 2026-05 (stale).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from core.db import session_scope
from core.models import GovRecord
from core.models.types import GovSource
from core.services import quality_rules
from tests import factories

AS_OF = date(2026, 10, 31)
CODES = ("MKT-006", "MKT-023", "SI-009", "SI-004", "TAX-004", "FIN-002")
V1 = json.loads(quality_rules.SHIPPED_RULE_SET.read_text(encoding="utf-8"))


@dataclass
class World:
    e1: int
    e2: int
    e3: int
    bad_code: str
    good_code_for_e2: str


def small_rule_set(tmp_path: Path, codes=CODES) -> Path:
    """A rule-set file holding only ``codes`` (v1 definitions)."""
    doc = {**V1, "rules": [r for r in V1["rules"] if r["code"] in codes]}
    path = tmp_path / "rules.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def _monthly(session, enterprise_id: int, source: GovSource, kind: str, months: list[str], value: float) -> None:
    for m in months:
        session.add(GovRecord(enterprise_id=enterprise_id, source=source, kind=kind, period=date.fromisoformat(m),
                              value=value))


def build() -> World:
    with session_scope() as s:
        good = factories.credit_code()
        bad = good[:-1] + ("0" if good[-1] != "0" else "1")
        e1 = factories.enterprise(s, name="衡水甲乙食品有限公司", employees=10)
        e2 = factories.enterprise(s, name="衡水丙丁纺织有限公司", employees=10, credit_code=bad)
        e3 = factories.enterprise(s, name="衡水甲乙食品有限公司", employees=20)
        months = ["2026-08-01", "2026-09-01", "2026-10-01"]
        _monthly(s, e1.id, GovSource.social_insurance, "si_headcount", months, 10)
        _monthly(s, e2.id, GovSource.social_insurance, "si_headcount", months, 30)
        _monthly(s, e1.id, GovSource.tax, "tax_paid", ["2026-03-01", "2026-04-01", "2026-05-01"], 1000)
        return World(e1.id, e2.id, e3.id, bad, good)
