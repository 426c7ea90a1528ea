"""Matrix rules for government-data ingestion (issue 5): file imports, API pulls, batch reports, exports.

Every ingestion service needs ``data.import`` (the operator) and works platform-wide (row rule ``any``).
"""

from __future__ import annotations

from core.auth import Permission
from core.db import session_scope
from core.models import Enterprise, ImportBatch
from tests.integration.permission_world import Builder, Rule, World

ING = "core.services.ingestion."
SRC = "core.services.ingestion_sources."
IP = "core.services.ingestion_pull."
OPERATOR_ONLY = Rule(Permission.data_import, "any")


class _OnePageFeed:
    """A department feed in memory: one page with one tax-paid record of the side's enterprise."""

    mapping = "tax_paid_api"

    def __init__(self, credit_code: str) -> None:
        self.credit_code = credit_code

    def fetch(self, since):
        yield [{"credit_code": self.credit_code, "period": "2026-01", "tax_paid": 1234.5}]


def _credit_code(w: World, scope: str) -> str:
    with session_scope() as s:
        return s.get(Enterprise, w.side(scope).enterprise_id).credit_code


def _tax_file(w: World, scope: str) -> dict:
    content = f"纳税人识别号,所属期,实缴税额,金额单位\n{_credit_code(w, scope)},2026-02,100,元\n".encode()
    return {"source": "tax_paid", "filename": "matrix.csv", "content": content}


def _batch(w: World, scope: str) -> int:
    with session_scope() as s:
        batch = ImportBatch(source="tax_paid", target="gov_record", file_sha256=w.unique(f"{scope}-sha-"),
                            status="done", report={"columns": ["纳税人识别号"]})
        s.add(batch)
        s.flush()
        return int(batch.id)


RULES: dict[str, Rule] = {
    SRC + "list_import_sources": OPERATOR_ONLY,
    ING + "import_department_file": OPERATOR_ONLY,
    IP + "pull_department": OPERATOR_ONLY,
    IP + "list_import_batches": OPERATOR_ONLY,
    IP + "import_batch_report": OPERATOR_ONLY,
    IP + "quarantine_export": OPERATOR_ONLY,
}

ARGUMENTS: dict[str, Builder] = {
    SRC + "list_import_sources": lambda w, sc, r: {},
    ING + "import_department_file": lambda w, sc, r: _tax_file(w, sc),
    IP + "pull_department": lambda w, sc, r: {"source": "tax_paid_api", "api": _OnePageFeed(_credit_code(w, sc))},
    IP + "list_import_batches": lambda w, sc, r: {"limit": 10},
    IP + "import_batch_report": lambda w, sc, r: {"batch_id": _batch(w, sc)},
    IP + "quarantine_export": lambda w, sc, r: {"batch_id": _batch(w, sc), "fmt": "csv"},
}
