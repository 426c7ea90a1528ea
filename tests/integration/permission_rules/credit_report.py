"""Matrix rules for the credit report (``core.services.credit_report``): the picker, the report, the PDF log."""

from __future__ import annotations

from core.auth import Permission
from tests.integration.permission_world import Builder, Rule

R = "core.services.credit_report."

RULES: dict[str, Rule] = {
    R + "consented_enterprises": Rule(Permission.credit_file_read, "own_institution_implicit"),
    R + "read_credit_report": Rule(Permission.credit_file_read, "consented_enterprise"),
    R + "record_report_download": Rule(Permission.credit_file_read, "consented_enterprise"),
}

ARGUMENTS: dict[str, Builder] = {
    R + "consented_enterprises": lambda w, sc, r: {},
    R + "read_credit_report": lambda w, sc, r: {"enterprise_id": w.side(sc).enterprise_id, "purpose": "贷前调查"},
    R + "record_report_download": lambda w, sc, r: {
        "enterprise_id": w.side(sc).enterprise_id,
        "scopes": ["basic", "credit"],
        "purpose": "贷前调查",
        "report_number": "JF20260101-00000001",
    },
}
