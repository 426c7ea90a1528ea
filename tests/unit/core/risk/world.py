"""Constructed frames for the risk engine's unit tests: tiny worlds built row by row around ``AS_OF``."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

from core.risk.inputs import COLUMNS, RiskInputs

AS_OF = date(2026, 6, 30)


def day(days_ago: int) -> pd.Timestamp:
    return pd.Timestamp(AS_OF - timedelta(days=days_ago))


def event(eid: int, kind: str, days_ago: int, *, value=np.nan, ref: str = "", text=None, detail=None,
          received_days_ago: int | None = None) -> dict:
    received = day(received_days_ago if received_days_ago is not None else max(days_ago - 2, 0))
    return {"enterprise_id": eid, "source": "x", "kind": kind, "period": day(days_ago), "ref": ref or f"R{days_ago}",
            "value": value, "text": text, "detail": detail, "received_at": received}


def series(eid: int, kind: str, values: list[float]) -> list[dict]:
    """Monthly rows ending two months before AS_OF (the latest month already received), oldest first."""
    last = pd.Timestamp(AS_OF).to_period("M") - 2
    months = [(last - k).to_timestamp() for k in range(len(values) - 1, -1, -1)]
    return [{"enterprise_id": eid, "source": "x", "kind": kind, "period": m, "ref": "", "value": float(v),
             "text": None, "detail": None, "received_at": m + pd.Timedelta(days=40)} for m, v in zip(months, values,
                                                                                                    strict=True)]


def loan(loan_id: int, eid: int, *, institution_id: int = 900, paused_until=None, defaulted_days_ago=None) -> dict:
    return {"id": loan_id, "enterprise_id": eid, "institution_id": institution_id, "amount": 1_000_000.0,
            "status": "active", "disbursed_at": day(700), "paused_until": paused_until,
            "outstanding_principal": 800_000.0,
            "defaulted_at": day(defaulted_days_ago) if defaulted_days_ago is not None else None}


def installment(loan_id: int, seq: int, due_days_ago: int, paid_days_ago: int | None = None) -> dict:
    return {"loan_id": loan_id, "seq": seq, "due_date": day(due_days_ago), "principal_due": 10_000.0,
            "interest_due": 500.0, "paid_amount": 10_500.0 if paid_days_ago is not None else 0.0,
            "paid_on": day(paid_days_ago) if paid_days_ago is not None else None, "days_past_due": 0,
            "status": "paid" if paid_days_ago is not None else "overdue"}


def holding(eid: int, pct: float, *, holder_enterprise: int | None = None, name: str | None = None,
            since_days_ago: int = 2000, until_days_ago: int | None = None) -> dict:
    return {"enterprise_id": eid, "holder_type": "enterprise" if holder_enterprise is not None else "person",
            "holder_enterprise_id": holder_enterprise, "holder_name": name or f"E{holder_enterprise}",
            "share_pct": pct, "since": day(since_days_ago),
            "until": day(until_days_ago) if until_days_ago is not None else None}


def score(eid: int, days_ago: int, value: float, grade: str) -> dict:
    return {"enterprise_id": eid, "as_of": day(days_ago), "score": value, "grade": grade}


def application(eid: int, institution_id: int, days_ago: int) -> dict:
    return {"enterprise_id": eid, "institution_id": institution_id, "submitted_at": day(days_ago)}


def inputs(**rows: list[dict]) -> RiskInputs:
    """RiskInputs from row lists (frames not given are empty); ``gov_records`` keeps its ``detail`` column."""
    frames = {}
    for name, cols in COLUMNS.items():
        data = rows.get(name, [])
        extra = ["detail"] if name == "gov_records" else []
        df = pd.DataFrame(data, columns=[*cols, *extra]) if data else pd.DataFrame(columns=[*cols, *extra])
        if name == "shareholdings":
            df["holder_enterprise_id"] = df["holder_enterprise_id"].astype("Int64")
        frames[name] = df
    if not rows.get("enterprises"):
        ids = sorted({r["enterprise_id"] for v in rows.values() for r in v if "enterprise_id" in r})
        frames["enterprises"] = pd.DataFrame({"id": ids, "name": [f"E{i}" for i in ids], "district_code": "131102",
                                              "industry_section": "C", "scale": "small"})
    return RiskInputs(**frames)
