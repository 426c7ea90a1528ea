"""A tiny, fully valid world of frames, and the per-rule fixture table that breaks it one rule at a time.

``baseline()`` passes every rule of ``v1.json``; ``BREAKS[code]`` mutates a copy so that rule fails.
A rule without an entry here fails the suite (see ``test_rules.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from core.reference import districts, industries, industry_sections
from core.validators import make_credit_code

AS_OF = date(2026, 10, 31)
ROOT = Path(__file__).resolve().parents[4]
RULES_V1 = ROOT / "data" / "reference" / "quality_rules" / "v1.json"
E, S, G, F = "enterprise", "shareholding", "gov_record", "financial_statement"
MONTHLY = {  # code prefix -> (source, kind, value)
    "TAX": ("tax", "tax_paid", 1000.0), "SI": ("social_insurance", "si_headcount", 40.0),
    "HF": ("housing_fund", "hf_contributors", 20.0), "ELE": ("electricity", "electricity_kwh", 5000.0),
    "WAT": ("water", "water_t", 100.0), "GAS": ("gas", "gas_m3", 300.0),
}


def reference():
    from core.quality.rules import Reference

    return Reference.from_frames(districts(), industries(), industry_sections())


def id_number(body17: str) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(c) * w for c, w in zip(body17, weights, strict=True))
    return body17 + "10X98765432"[total % 11]


def _ts(values) -> pd.Series:
    return pd.Series(pd.to_datetime(values)).astype("datetime64[s]")


def baseline() -> dict[str, pd.DataFrame]:
    codes = [make_credit_code(f"91{d}MA0A1B2C{i}") for i, d in zip("123", ["131102", "131121", "131102"], strict=True)]
    ent = pd.DataFrame({
        "id": [1, 2, 3], "credit_code": codes, "name": ["衡水甲乙食品有限公司", "衡水丙丁食品有限公司", "衡水戊己食品有限公司"],
        "district_code": ["131102", "131121", "131102"], "industry_section": ["C", "C", "C"],
        "industry_division": ["13", "13", "14"], "scale": ["small", "small", "micro"],
        "founded_on": _ts(["2015-03-01", "2016-05-01", "2018-07-01"]),
        "registered_capital": [1e6, 2e6, 5e5], "employees": [50, 60, 30],
        "legal_rep_name": ["张三", "李四", "王五"],
        "legal_rep_id_number": [id_number("13110219800101123"), id_number("13112119850202234"),
                                id_number("13110219900303345")],
        "contact_phone": ["13812345678", "0318-2123456", "15912345678"],
        "address": ["河北省衡水市桃城区人民路1号", "河北省衡水市枣强县中华路2号", "河北省衡水市桃城区胜利路3号"],
    })
    sh = pd.DataFrame({
        "id": [1, 2, 3, 4, 5, 6], "enterprise_id": [1, 1, 2, 2, 3, 3],
        "holder_type": ["person", "person", "enterprise", "person", "person", "person"],
        "holder_enterprise_id": pd.array([None, None, 1, None, None, None], dtype="Int64"),
        "holder_name": ["张三", "赵六", "衡水甲乙食品有限公司", "李四", "王五", "孙七"],
        "holder_id_number": [id_number("13110219800101123"), id_number("13110219700404456"), None,
                             id_number("13112119850202234"), id_number("13110219900303345"),
                             id_number("13110219910505567")],
        "share_pct": [60.0, 40.0, 30.0, 70.0, 50.0, 50.0],
        "since": _ts(["2015-03-01", "2015-03-01", "2016-05-01", "2016-05-01", "2018-07-01", "2019-01-01"]),
        "until": _ts([None] * 6),
    })
    months = pd.date_range("2025-01-01", "2026-10-01", freq="MS")
    rows = []
    for eid in (1, 2, 3):
        for source, kind, value in MONTHLY.values():
            for m in months:
                rows.append((eid, source, kind, m, "", value, None))
    events = [
        (1, "tax", "tax_grade", "2025-01-01", "", np.nan, "B"), (2, "tax", "tax_grade", "2025-01-01", "", np.nan, "A"),
        (1, "tax", "tax_arrears", "2026-02-10", "", 500.0, "欠缴税款"),
        (1, "social_insurance", "si_arrears", "2026-03-10", "", 1000.0, "欠缴社会保险费"),
        (1, "housing_fund", "hf_arrears", "2026-03-10", "", 100.0, "欠缴住房公积金"),
        (1, "electricity", "utility_arrears", "2026-04-10", "", 200.0, "拖欠电费"),
        (1, "judicial", "judicial_case", "2026-03-10", "(2026)冀1102民初123号", 1e4, "买卖合同纠纷"),
        (2, "judicial", "dishonest_executee", "2026-06-01", "(2026)冀1121执45号", 2e4, "失信被执行人"),
        (1, "penalty", "penalty", "2026-05-20", "衡罚〔2026〕12号", 5000.0, "未按规定公示年度报告"),
        (2, "market", "abnormal_operation", "2026-01-15", "", np.nan, "未按规定报送年度报告"),
        (1, "market", "registration_change", "2025-08-01", "", np.nan, "法定代表人变更"),
        (2, "public_credit", "blacklist", "2026-07-01", "", np.nan, "严重失信主体名单"),
        (1, "public_credit", "commendation", "2026-02-01", "", np.nan, "守合同重信用企业"),
    ]
    rows += [(e, s, k, pd.Timestamp(p), r, v, t) for e, s, k, p, r, v, t in events]
    gov = pd.DataFrame(rows, columns=["enterprise_id", "source", "kind", "period", "ref", "value", "text"])
    gov["period"] = gov["period"].astype("datetime64[s]")
    gov.insert(0, "id", np.arange(1, len(gov) + 1))
    gov["received_at"] = (gov["period"] + pd.Timedelta(days=30)).dt.tz_localize("UTC")
    fs = pd.DataFrame({
        "id": [1, 2, 3, 4, 5, 6], "enterprise_id": [1, 1, 2, 2, 3, 3], "year": [2024, 2025] * 3,
        "revenue": [5e6] * 6, "net_profit": [3e5] * 6, "total_assets": [4e6] * 6, "total_liabilities": [2e6] * 6,
        "total_equity": [2e6] * 6, "current_assets": [2e6] * 6, "current_liabilities": [1e6] * 6,
        "operating_cash_flow": [4e5] * 6,
    })
    return {E: ent, S: sh, G: gov, F: fs}


# ------------------------------------------------------------------------------------------ mutations

Mutation = Callable[[dict[str, pd.DataFrame]], None]


def _sel(frame: pd.DataFrame, where: dict | None) -> pd.Series:
    mask = pd.Series(True, index=frame.index)
    for col, value in (where or {}).items():
        mask &= frame[col].isin(value if isinstance(value, list) else [value])
    return mask


def setv(table: str, col: str, value, where: dict | None = None, *, all_rows: bool = False) -> Mutation:
    def apply(w):
        frame = w[table]
        idx = frame.index[_sel(frame, where)]
        assert len(idx), f"fixture selects no {table} row for {where}"
        if frame[col].dtype.kind in "iu" and not isinstance(value, int | np.integer):
            frame[col] = frame[col].astype("float64" if value is None or isinstance(value, float) else object)
        frame[col] = frame[col].astype(object) if isinstance(value, str) and frame[col].dtype.kind != "O" and \
            not pd.api.types.is_string_dtype(frame[col].dtype) else frame[col]
        frame.loc[idx if all_rows else idx[:1], col] = value
    return apply


def dup(table: str, where: dict | None = None) -> Mutation:
    def apply(w):
        frame = w[table]
        row = frame[_sel(frame, where)].iloc[[0]].copy()
        if "id" in row:
            row["id"] = frame["id"].max() + 1
        w[table] = pd.concat([frame, row], ignore_index=True)
    return apply


def drop(table: str, where: dict) -> Mutation:
    def apply(w):
        frame = w[table]
        w[table] = frame[~_sel(frame, where)].reset_index(drop=True)
    return apply


def both(*ms: Mutation) -> Mutation:
    def apply(w):
        for m in ms:
            m(w)
    return apply


def _bad_check(code: str) -> str:
    return code[:17] + ("0" if code[17] != "0" else "1")


T = pd.Timestamp
BREAKS: dict[str, Mutation] = {
    "MKT-001": setv(E, "name", None), "MKT-002": setv(E, "scale", None), "MKT-003": setv(E, "employees", None),
    "MKT-004": setv(E, "legal_rep_name", "  "), "MKT-005": setv(E, "address", None),
    "MKT-006": lambda w: setv(E, "credit_code", _bad_check(w[E].at[0, "credit_code"]))(w),
    "MKT-007": setv(E, "credit_code", make_credit_code("95131102MA0A1B2C1")),
    "MKT-008": setv(E, "district_code", "999999"), "MKT-009": setv(E, "industry_section", "Z"),
    "MKT-010": setv(E, "industry_division", "99"), "MKT-011": setv(E, "industry_section", "A"),
    "MKT-012": setv(E, "founded_on", T("1900-01-01")), "MKT-013": setv(E, "employees", -1),
    "MKT-014": setv(E, "registered_capital", -5.0), "MKT-015": setv(E, "registered_capital", 2e11),
    "MKT-016": setv(E, "employees", 200_000), "MKT-017": setv(E, "scale", "huge"), "MKT-018": setv(E, "name", "甲"),
    "MKT-019": setv(E, "name", "衡水某某某"),
    "MKT-020": setv(E, "legal_rep_id_number", _bad_check(id_number("13110219800101123"))),
    "MKT-021": setv(E, "contact_phone", "12345"), "MKT-022": dup(E),
    "MKT-023": setv(E, "name", "衡水甲乙食品有限公司", {"id": 2}), "MKT-024": setv(E, "district_code", "131121"),
    "MKT-025": setv(E, "employees", 500, {"scale": "micro"}),
    "MKT-030": setv(S, "holder_name", None), "MKT-031": setv(S, "share_pct", 150.0),
    "MKT-032": setv(S, "share_pct", 80.0), "MKT-033": setv(S, "share_pct", 50.0),
    "MKT-034": setv(S, "holder_type", "alien"),
    "MKT-035": setv(S, "holder_enterprise_id", None, {"holder_type": "enterprise"}),
    "MKT-036": setv(S, "holder_id_number", "130000199001011230", {"holder_type": "person"}),
    "MKT-037": setv(S, "holder_enterprise_id", 2, {"holder_type": "enterprise"}),
    "MKT-038": setv(S, "holder_enterprise_id", 99, {"holder_type": "enterprise"}),
    "MKT-039": setv(S, "enterprise_id", 99), "MKT-040": setv(S, "since", T("2099-01-01")),
    "MKT-041": setv(S, "until", T("2010-01-01")), "MKT-042": setv(S, "since", T("2000-01-01")),
    "MKT-043": dup(S), "MKT-044": drop(S, {"enterprise_id": 3}),
    "MKT-050": setv(G, "kind", "x", {"source": "market"}), "MKT-051": setv(G, "text", None, {"source": "market"}),
    "MKT-052": setv(G, "enterprise_id", 99), "MKT-053": setv(G, "period", T("2099-01-01"), {"source": "market"}),
    "TAX-009": setv(G, "text", "E", {"kind": "tax_grade"}), "TAX-010": drop(G, {"kind": "tax_paid", "enterprise_id": 3}),
    "TAX-011": setv(G, "value", 1e7, {"kind": "tax_paid", "period": T("2025-03-01")}),
    "TAX-012": lambda w: setv(G, "received_at", w[G].loc[w[G]["kind"] == "tax_paid", "received_at"].iloc[0]
                              + pd.Timedelta(days=100), {"kind": "tax_paid"})(w),
    "TAX-013": setv(E, "founded_on", T("2025-06-01"), {"id": 1}),
    "TAX-014": setv(G, "period", T("2020-01-01"), {"kind": "tax_grade"}, all_rows=True),
    "TAX-015": setv(G, "value", 0.0, {"kind": "tax_arrears"}),
    "SI-009": setv(G, "value", 500.0, {"kind": "si_headcount", "period": T("2026-10-01")}),
    "SI-010": setv(G, "value", 40.5, {"kind": "si_headcount"}), "SI-011": setv(G, "value", 0.0, {"kind": "si_arrears"}),
    "SI-012": lambda w: setv(G, "received_at", w[G].loc[w[G]["kind"] == "si_headcount", "received_at"].iloc[0]
                             + pd.Timedelta(days=100), {"kind": "si_headcount"})(w),
    "HF-009": setv(G, "value", 60.0, {"kind": "hf_contributors"}), "HF-010": setv(G, "value", 20.5, {"kind": "hf_contributors"}),
    "ELE-009": setv(E, "founded_on", T("2026-01-01"), {"id": 1}),
    "ELE-010": setv(G, "value", 0.0, {"kind": "utility_arrears"}),
    "JUD-001": setv(G, "ref", None, {"kind": "judicial_case"}), "JUD-002": setv(G, "ref", "2026民初123", {"kind": "judicial_case"}),
    "JUD-003": setv(G, "ref", "(2020)冀1102民初123号", {"kind": "judicial_case"}),
    "JUD-004": setv(G, "value", -1.0, {"source": "judicial"}), "JUD-005": dup(G, {"source": "judicial"}),
    "JUD-006": setv(G, "period", T("2024-01-01"), {"source": "judicial"}, all_rows=True),
    "JUD-007": setv(G, "kind", "weird", {"source": "judicial"}),
    "JUD-008": setv(G, "period", T("2099-01-01"), {"source": "judicial"}),
    "PEN-001": setv(G, "ref", "罚款123", {"source": "penalty"}), "PEN-002": setv(G, "value", 0.0, {"source": "penalty"}),
    "PEN-003": setv(G, "text", None, {"source": "penalty"}), "PEN-004": dup(G, {"source": "penalty"}),
    "PEN-005": setv(G, "period", T("2024-01-01"), {"source": "penalty"}, all_rows=True),
    "PEN-006": setv(G, "kind", "fine", {"source": "penalty"}),
    "PUB-001": setv(G, "text", None, {"source": "public_credit"}), "PUB-002": setv(G, "kind", "x", {"source": "public_credit"}),
    "PUB-003": dup(G, {"source": "public_credit"}),
    "PUB-004": setv(G, "period", T("2024-01-01"), {"source": "public_credit"}, all_rows=True),
    "FIN-001": setv(F, "revenue", None), "FIN-002": setv(F, "revenue", -1.0), "FIN-003": setv(F, "total_assets", -1.0),
    "FIN-004": setv(F, "current_assets", 5e6), "FIN-005": setv(F, "current_liabilities", 3e6),
    "FIN-006": setv(F, "total_equity", 5e6), "FIN-007": setv(F, "net_profit", 6e6), "FIN-008": setv(F, "year", 2099),
    "FIN-009": dup(F), "FIN-010": setv(F, "year", 2010), "FIN-011": setv(F, "revenue", 2e8, {"year": 2025}),
    "FIN-012": both(setv(F, "year", 2022, {"year": 2024}, all_rows=True),
                    setv(F, "year", 2023, {"year": 2025}, all_rows=True)),
    "FIN-013": setv(F, "total_liabilities", 2e7), "FIN-014": setv(F, "operating_cash_flow", -2e7),
    "FIN-015": drop(F, {"enterprise_id": 3}), "FIN-016": setv(F, "enterprise_id", 99),
    "FIN-017": setv(F, "total_liabilities", -1.0),
}
for _pre, (_src, _kind, _value) in MONTHLY.items():
    _k = {"kind": _kind}
    BREAKS.update({
        f"{_pre}-001": setv(G, "value", None, _k), f"{_pre}-002": setv(G, "value", -1.0, _k),
        f"{_pre}-003": drop(G, {"kind": _kind, "enterprise_id": 1, "period": T("2025-06-01")}),
        f"{_pre}-004": drop(G, {"kind": _kind, "period": list(pd.date_range("2026-07-01", "2026-10-01", freq="MS"))}),
        f"{_pre}-005": setv(G, "value", _value * 100, {"kind": _kind, "enterprise_id": 1, "period": T("2026-03-01")}),
        f"{_pre}-006": dup(G, _k), f"{_pre}-007": setv(G, "period", T("2026-10-15"), {"kind": _kind, "period": T("2026-10-01")}),
        f"{_pre}-008": setv(G, "kind", "unknown_kind", _k),
    })
    if _pre in ("TAX", "HF"):  # v1 has no month-on-month spike rule for tax (quarterly) or housing fund
        del BREAKS[f"{_pre}-005"]

# Boundary cases that must still pass (a rule's edge, not just the comfortable middle).
PASSES: dict[str, Mutation] = {
    "MKT-012": setv(E, "founded_on", T("1949-01-01")),
    "MKT-031": both(setv(S, "share_pct", 100.0, {"id": 1}), setv(S, "share_pct", 0.0001, {"id": 2}),
                    setv(S, "share_pct", 99.9999, {"id": 1})),
    "MKT-032": setv(S, "share_pct", 60.01, {"id": 1}),  # within the 0.01 tolerance
    "SI-009": setv(G, "value", 77.0, {"kind": "si_headcount", "period": T("2026-10-01")}),  # 1.5×50+2
    "ELE-005": setv(G, "value", 5000.0 * 20, {"kind": "electricity_kwh", "enterprise_id": 1, "period": T("2026-03-01")}),
    "FIN-006": setv(F, "total_equity", 2e6 + 4e4),  # 1% of assets
}
