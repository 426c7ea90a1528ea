"""Deterministic, realistic demo data for Hengshui: pure numpy/pandas, no database, no clock.

``DemoGenerator(scale, seed)`` yields one dict of DataFrames for the platform-wide rows
(:meth:`static_frames`: institutions, regulators, operator, their users, products) and then one dict
per chunk of enterprises (:meth:`enterprise_chunks`: enterprises, shareholdings, government records,
financial statements, needs, applications and their events, loans, repayment installments, and in
the first chunk the enterprise organizations and users; :func:`iter_frames` adds the needs' leads and
the hall's appointments from :mod:`core.seed.matchmaking`). Keys are table names; a key starting with
``_`` is ground truth for tests and is never written. Ids are assigned here, so foreign keys hold.

Encodings in the frames: money columns are ``int64`` **cents** (see :data:`MONEY_COLUMNS`);
timestamps are ``datetime64[s, UTC]``; dates are ``datetime64[s]`` at midnight; enums are their
string values; JSON columns hold Python lists/dicts (or None).

Causality: each enterprise draws a latent distress. A distressed enterprise's electricity and tax
start falling 6–12 months before its trouble month, and it shows social-insurance arrears, new
lawsuits, or a distressed enterprise in its shareholding group; its loans stop being repaid at the
trouble date and default 90 days later. Healthy borrowers default rarely (the surprises).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from core.auth.permissions import Role
from core.models.types import ApplicationStatus
from core.reference import districts as reference_districts
from core.reference import industries as reference_industries
from core.seed import catalog
from core.seed.matchmaking import Matchmaking
from core.validators import CREDIT_CODE_CHARSET, CREDIT_CODE_WEIGHTS

DEFAULT_AS_OF = date(2026, 10, 31)
WINDOW_MONTHS = 36
DAY = 86_400
_FAR = 2**60  # "never", in seconds; far from int64 overflow when days are added

# Table -> money columns, held as int64 cents in the frames.
MONEY_COLUMNS: dict[str, tuple[str, ...]] = {
    "enterprise": ("registered_capital",),
    "financial_statement": (
        "revenue", "net_profit", "total_assets", "total_liabilities", "total_equity",
        "current_assets", "current_liabilities", "operating_cash_flow",
    ),
    "product": ("amount_min", "amount_max"),
    "financing_need": ("amount",),
    "application": ("amount_requested", "approved_amount"),
    "loan": ("amount", "outstanding_principal"),
    "repayment_installment": ("principal_due", "interest_due", "paid_amount", "principal_paid", "interest_paid"),
}

# Tables in foreign-key order (what a loader inserts first comes first).
TABLE_ORDER = [
    "enterprise", "organization", "user_account", "product", "shareholding", "gov_record",
    "financial_statement", "financing_need", "lead", "application", "application_event", "loan",
    "repayment_installment", "consent_grant", "appointment",
]
# An open application implies the enterprise's consent for its institution to read its file
# (core.services.consent: every scope, one year past the last transition; closed ones end it).
CONSENT_SCOPES = ("basic", "gov_records", "financials", "credit")
CLOSED_APPLICATION_STATUSES = ("rejected", "withdrawn", "settled", "written_off")

OPERATOR_CODE = catalog.OPERATOR[0]  # the marker a loader uses to recognise a seeded database


@dataclass(frozen=True)
class ScaleSpec:
    """One named size of the demo data set."""

    name: str
    n_enterprises: int
    apps_per_enterprise: float  # mean applications per enterprise
    institutions: int  # how many of the 20 financial institutions to keep
    demo_enterprises: int  # enterprises that get an enterprise_admin and an enterprise_user
    chunk_size: int  # enterprises generated (and written) together


SCALES: dict[str, ScaleSpec] = {
    "small": ScaleSpec("small", 150, 1.9, 15, 6, 5_000),
    "demo": ScaleSpec("demo", 2_000, 1.45, 20, 20, 5_000),
    "large": ScaleSpec("large", 100_000, 1.45, 20, 40, 5_000),
}

STAGES = [
    "submitted", "accepted", "due_diligence", "approved", "rejected", "withdrawn", "contract_signed",
    "disbursed", "repaying", "overdue", "defaulted", "written_off", "settled",
]
assert set(STAGES) == {s.value for s in ApplicationStatus}
STAGE_NOTES = {
    "submitted": "企业提交融资申请", "accepted": "受理申请", "due_diligence": "开展尽职调查",
    "approved": "审批通过", "rejected": "审批未通过", "withdrawn": "企业撤回申请",
    "contract_signed": "签订借款合同", "disbursed": "放款", "repaying": "进入还款期",
    "overdue": "出现逾期", "defaulted": "逾期超过90天，认定违约", "written_off": "按规定核销",
    "settled": "贷款结清",
}
LOAN_STAGE = {"disbursed": "active", "repaying": "active", "overdue": "overdue", "settled": "settled",
              "defaulted": "defaulted", "written_off": "written_off"}
METHODS = ["equal_installment", "equal_principal", "interest_only_bullet"]
SCALE_NAMES = ["micro", "small", "medium", "large"]

# MIIT 2011 thresholds by industry group: (small: employees, revenue 万元; medium: employees, revenue;
# large: employees, revenue). Groups measured by revenue (or assets) alone carry 0 employees, and groups
# measured by employees alone carry 0 revenue. Construction and "other" use revenue/employees as stated.
_MIIT = {
    "industry": (20, 300, 300, 2000, 1000, 40000),
    "construction": (0, 300, 0, 6000, 0, 80000),
    "wholesale": (5, 1000, 20, 5000, 200, 40000),
    "retail": (10, 100, 50, 500, 300, 20000),
    "transport": (20, 200, 300, 3000, 1000, 30000),
    "warehousing": (20, 100, 100, 1000, 200, 30000),
    "hospitality": (10, 100, 100, 2000, 300, 10000),
    "it": (10, 50, 100, 1000, 2000, 100000),
    "agriculture": (0, 50, 0, 500, 0, 20000),
    "other": (10, 0, 100, 0, 300, 0),
}


def _miit_group(division: str) -> str:
    d = int(division)
    if d <= 5:
        return "agriculture"
    if d <= 46:
        return "industry"
    if d <= 50:
        return "construction"
    return {51: "wholesale", 52: "retail", 54: "transport", 59: "warehousing", 61: "hospitality",
            62: "hospitality", 64: "it", 65: "it"}.get(d, "other")


# Division group -> (log-median employees, revenue per employee 万元, kWh per employee-month,
# water tonnes per employee-month, gas share).
_PROFILE = {
    "agriculture": (1.8, 35, 120, 30, 0.05),
    "industry": (2.9, 45, 900, 6, 0.45),
    "construction": (2.8, 60, 150, 4, 0.10),
    "wholesale": (1.7, 260, 180, 2, 0.05),
    "retail": (1.9, 55, 300, 2, 0.10),
    "transport": (2.4, 35, 150, 2, 0.05),
    "warehousing": (2.2, 40, 350, 2, 0.05),
    "hospitality": (2.3, 18, 450, 12, 0.70),
    "it": (2.3, 30, 200, 2, 0.05),
    "other": (2.0, 22, 180, 2, 0.10),
}


def _month_add(months: np.ndarray, k) -> np.ndarray:
    return months + np.asarray(k).astype("timedelta64[M]")


class DemoGenerator:
    """Generates the demo data set of one scale and seed, deterministically, chunk by chunk."""

    def __init__(
        self,
        scale: str = "demo",
        seed: int = 42,
        *,
        n_enterprises: int | None = None,
        as_of: date = DEFAULT_AS_OF,
    ) -> None:
        if scale not in SCALES:
            raise ValueError(f"unknown scale {scale!r}; choose one of {', '.join(SCALES)}")
        self.spec = SCALES[scale]
        self.seed = int(seed)
        self.n_enterprises = int(n_enterprises if n_enterprises is not None else self.spec.n_enterprises)
        if self.n_enterprises < 20:
            raise ValueError("n_enterprises must be at least 20")
        self.as_of = as_of
        self.as_of_day = np.datetime64(as_of, "D")
        self.cutoff = (self.as_of_day + 1).astype("datetime64[s]").astype(np.int64)  # end of as_of, seconds
        self.as_of_month = self.as_of_day.astype("datetime64[M]")
        self.months = self.as_of_month - (WINDOW_MONTHS - 1) + np.arange(WINDOW_MONTHS)
        self.window_start_day = self.months[0].astype("datetime64[D]")
        self.window_start = self.window_start_day.astype("datetime64[s]").astype(np.int64)

        self._districts = reference_districts()
        self._industries = reference_industries().set_index("division")
        self._divisions = np.array(list(catalog.DIVISION_WEIGHTS))
        self._used_names: set[str] = set()
        self._next: dict[str, int] = dict.fromkeys(TABLE_ORDER, 1)
        self._static_done = False

    # ----------------------------------------------------------------- helpers
    def _ids(self, table: str, n: int) -> np.ndarray:
        start = self._next[table]
        self._next[table] = start + n
        return np.arange(start, start + n, dtype=np.int64)

    @staticmethod
    def _ts(seconds) -> pd.Series:
        return pd.Series(pd.to_datetime(np.asarray(seconds, dtype=np.int64), unit="s", utc=True))

    @staticmethod
    def _dates(days) -> np.ndarray:
        return np.asarray(days, dtype="datetime64[D]").astype("datetime64[s]")

    @staticmethod
    def _person_names(rng: np.random.Generator, n: int) -> np.ndarray:
        ranks = np.arange(len(catalog.SURNAMES))
        p = 1.0 / (ranks + 4.0)
        sur = rng.choice(len(catalog.SURNAMES), size=n, p=p / p.sum())
        g1 = rng.integers(0, len(catalog.GIVEN_CHARS), n)
        g2 = rng.integers(0, len(catalog.GIVEN_CHARS), n)
        two = rng.random(n) < 0.72
        s, g = catalog.SURNAMES, catalog.GIVEN_CHARS
        return np.array([s[a] + g[b] + (g[c] if t else "") for a, b, c, t in zip(sur, g1, g2, two, strict=True)],
                        dtype=object)

    @staticmethod
    def _phones(rng: np.random.Generator, n: int) -> np.ndarray:
        prefixes = np.array(["138", "139", "150", "151", "152", "135", "136", "187", "188", "130", "131",
                             "132", "155", "156", "185", "186", "133", "153", "180", "189", "177", "199"])
        pre = prefixes[rng.integers(0, len(prefixes), n)]
        tail = rng.integers(0, 100_000_000, n)
        return np.array([f"{a}{b:08d}" for a, b in zip(pre, tail, strict=True)], dtype=object)

    @staticmethod
    def _id_numbers(rng: np.random.Generator, regions: np.ndarray) -> np.ndarray:
        """Valid 18-digit resident ID numbers (GB 11643 check character) for people born 1955–2000."""
        n = len(regions)
        birth = (np.datetime64("1955-01-01") + rng.integers(0, 45 * 365, n)).astype(str)
        seq = rng.integers(1, 1000, n)
        weights = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
        checks = "10X98765432"
        out = []
        for reg, b, s in zip(regions, birth, seq, strict=True):
            body = f"{reg}{b.replace('-', '')}{s:03d}"
            total = int(np.dot(np.frombuffer(body.encode(), dtype=np.uint8) - 48, weights))
            out.append(body + checks[total % 11])
        return np.array(out, dtype=object)

    @staticmethod
    def _credit_codes(global_index: np.ndarray, district: np.ndarray, org_type: np.ndarray) -> np.ndarray:
        """Unique valid codes: a bijective scramble of the index gives the 9-character organization part."""
        base = 31 ** 9
        scrambled = (global_index.astype(object) * 7_919_742_137 + 1_234_567_891) % base
        cs = CREDIT_CODE_CHARSET
        out = []
        for value, dist, typ in zip(scrambled, district, org_type, strict=True):
            chars = []
            v = int(value)
            for _ in range(9):
                v, r = divmod(v, 31)
                chars.append(cs[r])
            first17 = typ + dist + "".join(chars)
            total = sum(cs.index(c) * w for c, w in zip(first17, CREDIT_CODE_WEIGHTS, strict=True))
            out.append(first17 + cs[(31 - total % 31) % 31])
        return np.array(out, dtype=object)

    # ----------------------------------------------------------------- static rows
    def static_frames(self) -> dict[str, pd.DataFrame]:
        """Institutions (with branches), regulators, the operator, their demo users, and products."""
        rng = np.random.default_rng([self.seed, 0])
        created = self._ts([self.window_start - 400 * DAY])[0]
        orgs: list[dict] = []
        users: list[dict] = []
        role_counter: dict[str, int] = {}
        counties = self._districts["code"].tolist()

        def add_org(code, name, name_en, kind, short, district, parent=None) -> int:
            oid = int(self._ids("organization", 1)[0])
            orgs.append({"id": oid, "code": code, "name": name, "name_en": name_en, "kind": kind, "short_name": short,
                             "district_code": district, "parent_id": parent, "enterprise_id": None, "is_active": True,
                             "created_at": created})
            return oid

        def add_user(role: str, org_id: int) -> int:
            n = role_counter[role] = role_counter.get(role, 0) + 1
            uid = int(self._ids("user_account", 1)[0])
            subject = f"demo-{role}-{n}"
            users.append({"id": uid, "subject": subject, "display_name": str(self._person_names(rng, 1)[0]),
                              "email": f"{subject}@demo.jinfu.example", "phone": str(self._phones(rng, 1)[0]),
                              "locale": "zh_CN", "organization_id": org_id, "roles": [role], "is_active": True,
                              "created_at": created})
            return uid

        kept = catalog.INSTITUTIONS[: self.spec.institutions]
        self.institutions: list[dict] = []
        for code, name, name_en, short, kind, segment, district in kept:
            head = add_org(code, name, name_en, kind, short, district)
            branches = []
            if kind == "bank":
                n_branches = int(rng.integers(1, 5))
                places = rng.choice([c for c in counties if c != district], size=n_branches, replace=False)
                for i, place in enumerate(places, start=1):
                    row = self._districts.set_index("code").loc[place]
                    stem = name.removesuffix("衡水分行").removesuffix("衡水市分行")
                    bname = f"{stem}{row['name']}支行" if stem != name else f"{name}{row['name']}支行"
                    branches.append(add_org(f"{code}-{i:02d}", bname, f"{name_en} {row['name_en']} Sub-branch",
                                            kind, f"{short}{row['name'][:2]}", place, head))
            if kind in ("bank", "leasing"):
                staff_org = branches or [head]
                officers = [add_user(Role.bank_officer, staff_org[i % len(staff_org)]) for i in range(2)]
                managers = [add_user(Role.bank_manager, head)]
                admins = [add_user(Role.bank_admin, head)] if kind == "bank" else managers
            else:
                role = Role.guarantee_staff if kind == "guarantee" else Role.insurer_staff
                officers = [add_user(role, head)]
                managers = [add_user(role, head)]
                admins = managers
            self.institutions.append({"id": head, "code": code, "short": short, "kind": kind, "segment": segment,
                                          "officers": officers, "managers": managers, "admins": admins})
        reg_ids = [add_org(c, n, ne, "regulator", s, "131102") for c, n, ne, s in catalog.REGULATORS]
        add_user(Role.regulator_admin, reg_ids[0])
        add_user(Role.regulator_analyst, reg_ids[0])
        add_user(Role.regulator_analyst, reg_ids[1])
        op_id = add_org(*catalog.OPERATOR[:3], "operator", catalog.OPERATOR[3], "131102")
        add_user(Role.operator, op_id)
        add_user(Role.wall_viewer, op_id)
        self._role_counter = role_counter

        products = self._products(rng)
        self._static_done = True
        org_df = pd.DataFrame(orgs)
        org_df["parent_id"] = org_df["parent_id"].astype("Int64")
        org_df["enterprise_id"] = org_df["enterprise_id"].astype("Int64")
        return {"organization": org_df, "user_account": pd.DataFrame(users), "product": products}

    def _products(self, rng: np.random.Generator) -> pd.DataFrame:
        rows: list[dict] = []
        sections = "ABCDEFGHIJKLMNOPQRST"
        for inst_index, inst in enumerate(self.institutions):
            if inst["kind"] == "bank":
                k = catalog.BANK_PRODUCTS_PER_BANK
                picks = rng.choice(len(catalog.PRODUCT_TEMPLATES), size=k, replace=False)
                if inst["segment"] == "rural":  # rural banks always lend to farmers
                    agri = [i for i, t in enumerate(catalog.PRODUCT_TEMPLATES) if t[0] == "惠农e贷"][0]
                    if agri not in picks:
                        picks[-1] = agri
                templates = [catalog.PRODUCT_TEMPLATES[i] for i in sorted(picks)]
            else:
                templates = catalog.NONBANK_TEMPLATES[inst["kind"]]
            for j, t in enumerate(templates, start=1):
                (base, base_en, ptype, amin, amax, tmin, tmax, rmin, rmax, methods, secs, scales,
                 years, grade, collateral, first, tags) = t
                jitter = rng.uniform(-0.15, 0.15)
                rmin_j = round(max(3.0, rmin + jitter), 2)
                rmax_j = round(min(15.0, max(rmin_j + 0.5, rmax + jitter)), 2)
                status = "published"
                roll = rng.random()
                if roll < 0.05:
                    status = "draft"
                elif roll < 0.10:
                    status = "withdrawn"
                published = None if status == "draft" else self._ts(
                    [self.window_start - int(rng.integers(30, 700)) * DAY + 3600 * 10])[0]
                name = f"{inst['short']}·{base}" if inst["kind"] == "bank" else base
                rows.append({
                    "institution_index": inst_index, "institution_id": inst["id"], "code": f"{inst['code']}-P{j:02d}",
                    "name": name, "name_en": base_en, "product_type": ptype,
                    "description": f"{catalog.OPERATOR[1][:2]}地区{base}：面向{'、'.join(tags)}的{'担保' if ptype == 'guarantee_service' else '融资'}产品，"
                                f"额度{amin}–{amax}万元，期限{tmin}–{tmax}个月，综合年化成本{rmin_j:.2f}%–{rmax_j:.2f}%。",
                    "amount_min": amin * 1_000_000, "amount_max": amax * 1_000_000,
                    "term_min_months": tmin, "term_max_months": tmax, "rate_min": rmin_j, "rate_max": rmax_j,
                    "repayment_methods": list(methods), "eligible_districts": [], "eligible_industries": list(secs),
                    "eligible_scales": list(scales), "min_years_in_business": years, "min_credit_grade": grade,
                    "collateral_required": collateral, "first_loan_friendly": first, "tags": list(tags),
                    "status": status, "published_at": published, "version": 1,
                    "created_at": self._ts([self.window_start - 720 * DAY])[0],
                    "updated_at": published if published is not None else self._ts([self.window_start])[0],
                    "_sec_mask": sum(1 << sections.index(s) for s in secs) if secs else (1 << 20) - 1,
                    "_scale_mask": sum(1 << SCALE_NAMES.index(s) for s in scales) if scales else 15,
                })
        df = pd.DataFrame(rows)
        df.insert(0, "id", self._ids("product", len(df)))
        self._product_arrays = {
            "id": df["id"].to_numpy(), "inst": df["institution_index"].to_numpy(),
            "type": df["product_type"].to_numpy(), "amin": df["amount_min"].to_numpy(np.int64),
            "amax": df["amount_max"].to_numpy(np.int64), "tmin": df["term_min_months"].to_numpy(),
            "tmax": df["term_max_months"].to_numpy(), "rmin": df["rate_min"].to_numpy(float),
            "rmax": df["rate_max"].to_numpy(float), "sec": df["_sec_mask"].to_numpy(np.int64),
            "scale": df["_scale_mask"].to_numpy(np.int64), "first": df["first_loan_friendly"].to_numpy(bool),
            "collateral": df["collateral_required"].to_numpy(bool),
            "methods": [[METHODS.index(m) for m in ms] for ms in df["repayment_methods"]],
            "usable": (df["status"] != "draft").to_numpy(),
        }
        return df.drop(columns=["institution_index", "_sec_mask", "_scale_mask"])

    # ----------------------------------------------------------------- enterprise chunks
    def chunk_count(self) -> int:
        return -(-self.n_enterprises // self.spec.chunk_size)

    def enterprise_chunks(self) -> Iterator[dict[str, pd.DataFrame]]:
        """One dict of frames per chunk of enterprises; call after :meth:`static_frames`."""
        if not self._static_done:
            raise RuntimeError("call static_frames() first")
        size = self.spec.chunk_size
        for k in range(self.chunk_count()):
            start = k * size
            n = min(size, self.n_enterprises - start)
            yield self._chunk(k, start, n)

    def _chunk(self, k: int, start: int, n: int) -> dict[str, pd.DataFrame]:
        rng = np.random.default_rng([self.seed, 1, k])
        ent = self._enterprises(rng, start, n)
        holdings = self._shareholdings(rng, ent)
        self._distress(rng, ent, first_chunk=(k == 0))
        frames: dict[str, pd.DataFrame] = {}
        frames["shareholding"] = holdings
        frames["gov_record"] = self._gov_records(rng, ent)
        frames["financial_statement"] = self._statements(rng, ent)
        apps = self._applications(rng, ent, first_chunk=(k == 0))
        frames.update(apps)
        frames["consent_grant"] = self._implied_consents(frames["application"])
        frames["enterprise"] = self._enterprise_frame(ent)
        if k == 0:
            frames.update(self._enterprise_users(rng, ent, frames["application"]))
        frames["_truth"] = pd.DataFrame({
            "enterprise_id": ent["id"], "distressed": ent["distressed"], "contagion": ent["contagion"],
            "decline_start": self._dates(ent["decline_day"]), "trouble_date": self._dates(ent["trouble_day"]),
        })
        return {t: frames[t] for t in [*TABLE_ORDER, "_truth"] if t in frames}

    def _implied_consents(self, app: pd.DataFrame) -> pd.DataFrame:
        """The grants that open applications imply, as the consent service would have recorded them."""
        live = app[~app["status"].isin(CLOSED_APPLICATION_STATUSES)].reset_index(drop=True)
        n = len(live)
        expires = pd.Timestamp(self.as_of, tz="UTC") + pd.Timedelta(days=365)
        return pd.DataFrame({
            "id": self._ids("consent_grant", n),
            "enterprise_id": live["enterprise_id"].to_numpy(),
            "institution_id": live["institution_id"].to_numpy(),
            "scopes": [list(CONSENT_SCOPES) for _ in range(n)],
            "purpose": [f"application #{i}" for i in live["id"]],
            "application_id": live["id"].to_numpy(),
            "granted_at": live["submitted_at"].to_numpy(),
            "expires_at": pd.Series([expires] * n, dtype="datetime64[ns, UTC]").to_numpy(),
        })

    def _enterprises(self, rng: np.random.Generator, start: int, n: int) -> dict:
        w = np.array(list(catalog.DIVISION_WEIGHTS.values()))
        div = self._divisions[rng.choice(len(w), size=n, p=w / w.sum())]
        dcodes = self._districts["code"].to_numpy()
        pop = self._districts["population_10k"].to_numpy(float)
        district = np.empty(n, dtype=object)
        for d in np.unique(div):
            idx = np.flatnonzero(div == d)
            aff = catalog.DISTRICT_AFFINITY.get(d, {})
            p = pop * np.array([aff.get(c, 1.0) for c in dcodes])
            district[idx] = dcodes[rng.choice(len(dcodes), size=len(idx), p=p / p.sum())]
        section = self._industries.loc[div, "section"].to_numpy()
        group = np.array([_miit_group(d) for d in div])
        prof = np.array([_PROFILE[g] for g in group])
        z = rng.normal(size=n)
        employees = np.maximum(1, np.rint(np.exp(prof[:, 0] + 1.25 * z))).astype(np.int64)
        employees = np.minimum(employees, 900)
        revenue_wan = employees * prof[:, 1] * np.exp(0.45 * rng.normal(size=n) + 0.15 * z)
        scale = np.zeros(n, dtype=np.int64)
        for g, (se, sr, me, mr, le, lr) in _MIIT.items():
            m = group == g
            e, r = employees[m], revenue_wan[m]
            sc = np.where((e >= le) & (r >= lr), 3, np.where((e >= me) & (r >= mr), 2,
                                                            np.where((e >= se) & (r >= sr), 1, 0)))
            scale[m] = sc
        age_years = rng.beta(1.3, 2.4, n) * 31.5
        founded = self.as_of_day - np.rint(age_years * 365.25).astype(np.int64) - 60
        founded = np.maximum(founded, np.datetime64("1995-01-01"))
        capital_wan = np.maximum(10, np.rint(revenue_wan * rng.uniform(0.08, 0.6, n) / 10) * 10)
        org_type = np.where((section == "A") & (rng.random(n) < 0.35), "93", "91")
        codes = self._credit_codes(np.arange(start, start + n), district, org_type)
        names = self._company_names(rng, div, district, scale, org_type)
        legal = self._person_names(rng, n)
        legal_id = self._id_numbers(rng, district)
        contact = np.where(rng.random(n) < 0.65, legal, self._person_names(rng, n))
        dist_names = self._districts.set_index("code")["name"]
        roads = np.array(catalog.ROADS)[rng.integers(0, len(catalog.ROADS), n)]
        numbers = rng.integers(1, 900, n)
        address = np.array([f"河北省衡水市{dist_names[d]}{r}{x}号" for d, r, x in
                            zip(district, roads, numbers, strict=True)], dtype=object)
        return {
            "n": n, "index": np.arange(n), "id": self._ids("enterprise", n), "credit_code": codes, "name": names,
            "district": district, "section": section, "division": div, "group": group, "scale": scale,
            "employees": employees, "revenue_wan": revenue_wan, "founded": founded, "capital_cents": (capital_wan * 1e6).astype(np.int64),
            "legal": legal, "legal_id": legal_id, "contact": contact, "phone": self._phones(rng, n), "address": address,
            "kwh_per_emp": prof[:, 2], "water_per_emp": prof[:, 3], "gas_share": prof[:, 4],
        }

    def _company_names(self, rng, div, district, scale, org_type) -> np.ndarray:
        dist_names = self._districts.set_index("code")["name"]
        brand = np.array(catalog.BRAND_CHARS)
        out = np.empty(len(div), dtype=object)
        for i in range(len(div)):
            words = catalog.INDUSTRY_WORDS.get(div[i], ["商贸"])
            word = words[int(rng.integers(0, len(words)))]
            dname = dist_names[district[i]]
            r = rng.random()
            if scale[i] >= 2 and r < 0.4:
                place = "河北"
            elif r < 0.55 or dname.endswith("区"):
                place = "衡水"
            else:
                place = dname
            if org_type[i] == "93":
                suffix = "专业合作社"
            elif scale[i] >= 2 and rng.random() < 0.4:
                suffix = "股份有限公司"
            else:
                suffix = "有限公司"
            for extra in range(4):
                b = "".join(brand[rng.integers(0, len(brand), 2 + (extra > 1))])
                name = f"{place}{b}{word}{suffix}"
                if name not in self._used_names:
                    break
            else:
                name = f"{place}{b}{word}{suffix[:-2]}分{suffix[-2:]}{i}"
            self._used_names.add(name)
            out[i] = name
        return out

    def _shareholdings(self, rng: np.random.Generator, ent: dict) -> pd.DataFrame:
        """Persons hold every company; ~18% of companies form groups with 3–4-deep chains, cross and circular holdings."""
        n = ent["n"]
        founded = ent["founded"]
        perm = rng.permutation(n)
        n_grouped = int(n * 0.18)
        groups: list[np.ndarray] = []
        pos = 0
        while pos + 3 <= n_grouped:
            size = int(rng.integers(3, 6))
            groups.append(perm[pos: pos + size])
            pos += size
        ent["group_of"] = np.full(n, -1)
        ent_holders: dict[int, list[tuple[int, float]]] = {}  # held -> [(holder, pct)]
        for gi, members in enumerate(groups):
            ent["group_of"][members] = gi
            depth = min(len(members), int(rng.integers(3, 5)))
            chain = members[:depth]
            for a, b in zip(chain[:-1], chain[1:], strict=True):  # a holds b
                ent_holders.setdefault(int(b), []).append((int(a), round(float(rng.uniform(51, 90)), 2)))
            for extra in members[depth:]:  # the group's head also holds the rest
                ent_holders.setdefault(int(extra), []).append((int(chain[0]), round(float(rng.uniform(30, 70)), 2)))
            roll = rng.random()
            if roll < 0.3:  # circular: the tail of the chain holds a slice of the head
                ent_holders.setdefault(int(chain[0]), []).append((int(chain[-1]), round(float(rng.uniform(3, 12)), 2)))
            elif roll < 0.55 and len(members) >= 2:  # cross-holding between two members
                a, b = int(members[-1]), int(members[-2])
                if a != b:
                    ent_holders.setdefault(a, []).append((b, round(float(rng.uniform(5, 20)), 2)))
                    ent_holders.setdefault(b, []).append((a, round(float(rng.uniform(5, 20)), 2)))
        ent["groups"] = groups
        # Group bosses: one person who holds every group's head.
        boss_name = self._person_names(rng, max(len(groups), 1))
        rows: dict[str, list] = {k: [] for k in ("enterprise_id", "holder_type", "holder_enterprise_id",
                                                 "holder_name", "holder_id_number", "share_pct", "since")}
        n_persons = rng.choice([1, 2, 3, 4], size=n, p=[0.35, 0.35, 0.2, 0.1])
        for i in range(n):
            taken: list[tuple[int, float]] = ent_holders.get(i, [])
            total = sum(p for _, p in taken)
            if total > 95:  # keep room for at least one person and never exceed 100
                factor = 90 / total
                taken = [(h, round(p * factor, 2)) for h, p in taken]
                total = sum(p for _, p in taken)
            for holder, pct in taken:
                rows["enterprise_id"].append(ent["id"][i])
                rows["holder_type"].append("enterprise")
                rows["holder_enterprise_id"].append(ent["id"][holder])
                rows["holder_name"].append(ent["name"][holder])
                rows["holder_id_number"].append(None)
                rows["share_pct"].append(pct)
                rows["since"].append(max(founded[i], founded[holder]) + int(rng.integers(0, 400)))
            rest = round(100 - total, 2)
            k = int(n_persons[i])
            split = rng.dirichlet(np.full(k, 1.2)) * rest
            split = np.maximum(np.round(split, 2), 0.01)
            split[0] = round(rest - split[1:].sum(), 2)
            if split[0] <= 0:
                split = np.array([rest])
            names = [ent["legal"][i]] + list(self._person_names(rng, len(split) - 1))
            ids = [ent["legal_id"][i]] + list(self._id_numbers(rng, np.full(len(split) - 1, ent["district"][i])))
            gi = ent["group_of"][i]
            if gi >= 0 and i == groups[gi][0]:
                names[0] = boss_name[gi]
            for name, idn, pct in zip(names, ids, split, strict=True):
                rows["enterprise_id"].append(ent["id"][i])
                rows["holder_type"].append("person")
                rows["holder_enterprise_id"].append(None)
                rows["holder_name"].append(name)
                rows["holder_id_number"].append(idn)
                rows["share_pct"].append(float(pct))
                rows["since"].append(founded[i])
        df = pd.DataFrame(rows)
        df["since"] = np.minimum(df["since"].to_numpy("datetime64[D]"), self.as_of_day).astype("datetime64[s]")
        df = df.drop_duplicates(["enterprise_id", "holder_type", "holder_name", "since"]).reset_index(drop=True)
        df["holder_enterprise_id"] = df["holder_enterprise_id"].astype("Int64")
        df["until"] = pd.Series(pd.NaT, index=df.index, dtype="datetime64[s]")
        df.insert(0, "id", self._ids("shareholding", len(df)))
        return df

    def _distress(self, rng: np.random.Generator, ent: dict, *, first_chunk: bool) -> None:
        """Latent distress with a decline-start month and a trouble month (may lie beyond as_of)."""
        n = ent["n"]
        age = (self.as_of_day - ent["founded"]).astype(np.int64) / 365.25
        logit = -2.35 + 0.35 * (ent["scale"] == 0) - 0.45 * (ent["scale"] >= 2) + 0.35 * (age < 3)
        logit += np.isin(ent["division"], ["19", "17", "18", "47", "48", "52"]) * 0.35
        distressed = rng.random(n) < 1 / (1 + np.exp(-logit))
        m0 = rng.integers(3, 33, n)
        trouble = m0 + rng.integers(6, 13, n)
        contagion = np.zeros(n, dtype=bool)
        for members in ent["groups"]:  # a troubled member drags others down a few months later
            sick = members[distressed[members]]
            if len(sick):
                src = sick[np.argmin(m0[sick])]
                for j in members:
                    if not distressed[j] and rng.random() < 0.45:
                        distressed[j] = True
                        contagion[j] = True
                        m0[j] = m0[src] + rng.integers(1, 4)
                        trouble[j] = trouble[src] + rng.integers(1, 4)
        if first_chunk:  # guarantee early, visible trouble in the first chunk (for the small size)
            for j, (a, b) in zip(range(4), [(6, 14), (8, 16), (10, 19), (12, 20)], strict=False):
                distressed[j], m0[j], trouble[j] = True, a, b
        symptoms = {
            "elec": rng.random(n) < 0.85, "tax": rng.random(n) < 0.8, "si": rng.random(n) < 0.65,
            "court": rng.random(n) < 0.55,
        }
        symptoms["tax"] |= ~symptoms["elec"]
        for key in symptoms:
            symptoms[key] &= distressed
        ent.update(distressed=distressed, contagion=contagion, m0=np.where(distressed, m0, 999),
                   trouble=np.where(distressed, trouble, 999), symptoms=symptoms)
        decline = (_month_add(self.months[0], np.minimum(ent["m0"], 120))).astype("datetime64[D]")
        trouble_day = (_month_add(self.months[0], np.minimum(ent["trouble"], 120))).astype("datetime64[D]")
        trouble_day = trouble_day + rng.integers(0, 27, n)
        ent["decline_day"] = np.where(distressed, decline, np.datetime64("NaT"))
        ent["trouble_day"] = np.where(distressed, trouble_day, np.datetime64("NaT"))
        ent["severity"] = rng.uniform(0.3, 0.65, n)

    def _gov_records(self, rng: np.random.Generator, ent: dict) -> pd.DataFrame:
        n, T = ent["n"], WINDOW_MONTHS
        t = np.arange(T)[None, :]
        month_no = (self.months.astype(np.int64) % 12 + 1)[None, :]
        alive = self.months[None, :] >= ent["founded"].astype("datetime64[M]")[:, None]
        growth = np.exp(rng.normal(0.03, 0.06, n)[:, None] * t / 12)
        m0, tr, sev = ent["m0"][:, None], ent["trouble"][:, None], ent["severity"][:, None]
        frac = np.clip((t - m0) / np.maximum(tr - m0, 1), 0, 1)
        decline = 1 - frac * (1 - sev) - np.where(t > tr, 0.15, 0.0)
        decline = np.clip(decline, 0.05, 1)
        dip = np.ones((n, T))  # healthy firms with a temporary dip: false alarms for early warning
        has_dip = (~ent["distressed"]) & (rng.random(n) < 0.05)
        dip_start = rng.integers(0, T - 4, n)[:, None]
        dip[(has_dip[:, None]) & (t >= dip_start) & (t < dip_start + 3)] = 0.7
        emp = ent["employees"][:, None].astype(float)
        frames = []

        def emit(source, kind, mask, values, decimals):
            e_idx, m_idx = np.nonzero(mask & (rng.random(mask.shape) > 0.003))
            frames.append(pd.DataFrame({
                "e": e_idx, "source": source, "kind": kind, "period": self.months[m_idx].astype("datetime64[s]"),
                "ref": "", "value": np.round(values[e_idx, m_idx], decimals), "text": None, "detail": None,
            }))

        elec_mult = np.where(ent["symptoms"]["elec"][:, None], decline, 1.0) * dip
        season = 1 + 0.1 * np.cos(2 * np.pi * (month_no - 7) / 12) + 0.06 * np.cos(2 * np.pi * (month_no - 1) / 12)
        base_e = emp * ent["kwh_per_emp"][:, None] * np.exp(rng.normal(0, 0.35, (n, 1)))
        elec = base_e * growth * season * elec_mult * np.exp(rng.normal(0, 0.06, (n, T)))
        emit("electricity", "electricity_kwh", alive & (rng.random((n, 1)) < 0.93), elec, 0)

        tax_mult = np.where(ent["symptoms"]["tax"][:, None],
                            np.clip(1 - np.clip((t - m0 - 1) / np.maximum(tr - m0, 1), 0, 1) * (1 - sev * 0.8), 0.02, 1),
                            1.0) * dip
        quarter = np.where(np.isin(month_no, [1, 4, 7, 10]), 1.6, 0.8)
        rate = rng.uniform(0.015, 0.045, (n, 1))
        base_t = ent["revenue_wan"][:, None] * 1e4 * rate / 12
        tax = base_t * growth * quarter * tax_mult * np.exp(rng.normal(0, 0.15, (n, T)))
        exempt = (ent["revenue_wan"][:, None] < 120) & (rng.random((n, T)) < 0.55)
        tax = np.where(exempt, 0.0, tax)
        emit("tax", "tax_paid", alive & (rng.random((n, 1)) < 0.97), tax, 2)

        si_mult = np.where(ent["symptoms"]["si"][:, None] | ent["symptoms"]["elec"][:, None],
                           1 - (1 - decline) * 0.5, 1.0)
        cover = rng.uniform(0.55, 1.0, (n, 1))
        si = np.rint(np.maximum(1, emp * cover * (1 + 0.3 * (growth - 1)) * si_mult
                                + rng.normal(0, 0.4, (n, T))))
        has_si = alive & (rng.random((n, 1)) < np.where(ent["scale"][:, None] == 0, 0.85, 0.97))
        emit("social_insurance", "si_headcount", has_si, si, 0)
        hf = np.rint(si * rng.uniform(0.3, 0.9, (n, 1)))
        has_hf = has_si & (rng.random((n, 1)) < np.where(ent["scale"][:, None] == 0, 0.3, 0.7))
        emit("housing_fund", "hf_contributors", has_hf & (hf > 0), hf, 0)
        water = emp * ent["water_per_emp"][:, None] * np.exp(rng.normal(0, 0.3, (n, 1))) * growth * \
            (1 + 0.15 * np.cos(2 * np.pi * (month_no - 7) / 12)) * (1 - (1 - elec_mult) * 0.6) * \
            np.exp(rng.normal(0, 0.08, (n, T)))
        emit("water", "water_t", alive & (rng.random((n, 1)) < 0.75), water, 1)
        heating = np.where(np.isin(month_no, [11, 12, 1, 2, 3]), 2.2, 0.6)
        gas = emp * 25 * np.exp(rng.normal(0, 0.4, (n, 1))) * heating * elec_mult * np.exp(rng.normal(0, 0.08, (n, T)))
        emit("gas", "gas_m3", alive & (rng.random((n, 1)) < ent["gas_share"][:, None] + 0.15), gas, 0)

        monthly = pd.concat(frames, ignore_index=True)
        events = self._gov_events(rng, ent)
        grades = self._tax_grades(rng, ent)
        df = pd.concat([monthly, grades, events], ignore_index=True)
        period = df["period"].to_numpy().astype("datetime64[s]").astype(np.int64)
        received = period + np.where(df["kind"].isin(["tax_grade"]).to_numpy(), 460, 40) * DAY
        received = np.minimum(received, self.cutoff - DAY)
        df["received_at"] = self._ts(received + 2 * 3600)
        df["enterprise_id"] = ent["id"][df["e"].to_numpy()]
        df = df.drop(columns="e").drop_duplicates(["enterprise_id", "source", "kind", "period", "ref"])
        df = df.sort_values(["enterprise_id", "source", "kind", "period"], kind="stable").reset_index(drop=True)
        df.insert(0, "id", self._ids("gov_record", len(df)))
        return df[["id", "enterprise_id", "source", "kind", "period", "ref", "value", "text", "detail", "received_at"]]

    def _tax_grades(self, rng: np.random.Generator, ent: dict) -> pd.DataFrame:
        rows = []
        grades = np.array(["A", "B", "M", "C", "D"])
        for year in (2023, 2024, 2025):
            if np.datetime64(f"{year + 1}-04-30") > self.as_of_day:
                continue
            founded_year = ent["founded"].astype("datetime64[Y]").astype(int) + 1970
            ok = founded_year <= year
            trouble_year = np.where(ent["distressed"], ent["m0"], 999)
            sick = ent["distressed"] & ((self.months[0].astype("datetime64[Y]").astype(int) + 1970 + trouble_year / 12) <= year + 1)
            p = np.where(sick[:, None], [0.02, 0.3, 0.1, 0.35, 0.23], [0.17, 0.55, 0.2, 0.06, 0.02])
            p = np.where((founded_year >= year)[:, None], [0.0, 0.0, 1.0, 0.0, 0.0], p)
            u = rng.random(ent["n"])[:, None]
            g = (u > np.cumsum(p, axis=1)).sum(axis=1)
            g = np.minimum(g, 4)
            e = np.flatnonzero(ok)
            rows.append(pd.DataFrame({"e": e, "source": "tax", "kind": "tax_grade",
                                      "period": np.datetime64(f"{year}-01-01", "s"), "ref": "",
                                      "value": np.nan, "text": grades[g[e]], "detail": None}))
        return pd.concat(rows, ignore_index=True)

    def _gov_events(self, rng: np.random.Generator, ent: dict) -> pd.DataFrame:
        n = ent["n"]
        dist, sym = ent["distressed"], ent["symptoms"]
        start = self.window_start_day
        founded = np.maximum(ent["founded"], start)
        span = (self.as_of_day - founded).astype(np.int64)
        out: list[pd.DataFrame] = []

        def random_days(e):
            return founded[e] + (rng.random(len(e)) * np.maximum(span[e], 1)).astype(np.int64)

        def window_days(e, lo_m, hi_m):
            lo = (_month_add(self.months[0], np.clip(lo_m[e], 0, 60)).astype("datetime64[D]"))
            hi = (_month_add(self.months[0], np.clip(hi_m[e], 0, 60)).astype("datetime64[D]"))
            d = lo + (rng.random(len(e)) * np.maximum((hi - lo).astype(np.int64), 1)).astype(np.int64)
            return d

        def add(source, kind, e, days, value=None, text=None, detail=None, ref=None):
            keep = days <= self.as_of_day
            e, days = e[keep], days[keep]
            sel = lambda v: (v[keep] if isinstance(v, np.ndarray) else v)  # noqa: E731
            out.append(pd.DataFrame({"e": e, "source": source, "kind": kind, "period": days.astype("datetime64[s]"),
                                     "ref": sel(ref) if ref is not None else "",
                                     "value": sel(value) if value is not None else np.nan,
                                     "text": sel(text) if text is not None else None,
                                     "detail": list(sel(detail)) if detail is not None else None}))

        m0, tr = ent["m0"], ent["trouble"]
        emp = ent["employees"]
        # Social-insurance arrears: several months between decline and trouble for distressed firms.
        for rep in range(3):
            e = np.flatnonzero(sym["si"] & (rng.random(n) < (0.9 if rep == 0 else 0.55)))
            d = window_days(e, m0 + 2, tr + 2)
            months_owed = rng.integers(1, 4, len(e)) + rep
            owed = np.round(emp[e] * 1100.0 * months_owed, 2)
            add("social_insurance", "si_arrears", e, d, owed, np.full(len(e), "欠缴社会保险费", dtype=object),
                np.array([{"months_owed": int(m)} for m in months_owed], dtype=object))
        e = np.flatnonzero(~dist & (rng.random(n) < 0.02))
        add("social_insurance", "si_arrears", e, random_days(e), np.round(emp[e] * 1100.0, 2),
            np.full(len(e), "欠缴社会保险费", dtype=object), np.array([{"months_owed": 1}] * len(e), dtype=object))
        for source, kind, p_sick, p_ok, label in [
            ("housing_fund", "hf_arrears", 0.3, 0.01, "欠缴住房公积金"),
            ("tax", "tax_arrears", 0.4, 0.01, "欠缴税款"),
            ("electricity", "utility_arrears", 0.35, 0.01, "拖欠电费"),
        ]:
            e = np.flatnonzero(dist & (rng.random(n) < p_sick))
            d = window_days(e, tr - 3, tr + 3)
            amount = np.round(ent["revenue_wan"][e] * rng.uniform(5, 60, len(e)), 2)
            add(source, kind, e, d, amount, np.full(len(e), label, dtype=object))
            e = np.flatnonzero(~dist & (rng.random(n) < p_ok))
            add(source, kind, e, random_days(e), np.round(ent["revenue_wan"][e] * 5.0, 2),
                np.full(len(e), label, dtype=object))
        # Lawsuits: new cases against distressed firms; ordinary disputes for everyone else.
        court = np.array(["冀" + c[2:6] for c in ent["district"]], dtype=object)
        for rep in range(4):
            e = np.flatnonzero(sym["court"] & (rng.random(n) < (0.95 if rep == 0 else 0.5)))
            d = window_days(e, m0 + 3, tr + 4)
            self._cases(rng, add, e, d, court, ent, defendant_p=0.92)
        e = np.flatnonzero(rng.random(n) < np.where(dist, 0.08, 0.07))
        self._cases(rng, add, e, random_days(e), court, ent, defendant_p=0.45)
        # Dishonest executee and blacklist: after trouble, only for distressed firms (and rare others).
        e = np.flatnonzero(dist & (rng.random(n) < 0.4))
        d = window_days(e, tr + 3, tr + 8)
        years = d.astype("datetime64[Y]").astype(int) + 1970
        nums = rng.integers(10, 3000, len(e))
        refs = np.array([f"({y}){c}执{x}号" for y, c, x in zip(years, court[e], nums, strict=True)], dtype=object)
        add("judicial", "dishonest_executee", e, d, np.round(ent["revenue_wan"][e] * rng.uniform(20, 200, len(e)), 2),
            np.full(len(e), "失信被执行人", dtype=object), ref=refs)
        e2 = e[rng.random(len(e)) < 0.5]
        add("public_credit", "blacklist", e2, window_days(e2, tr + 5, tr + 10), None,
            np.full(len(e2), "严重失信主体名单", dtype=object))
        e = np.flatnonzero(~dist & (rng.random(n) < 0.003))
        add("judicial", "dishonest_executee", e, random_days(e), None, np.full(len(e), "失信被执行人", dtype=object),
            ref=np.array([f"(2025){c}执{i + 100}号" for i, c in enumerate(court[e])], dtype=object))
        # Administrative penalties.
        e = np.flatnonzero(rng.random(n) < np.where(dist, 0.12, 0.03))
        d = random_days(e)
        texts = np.array(catalog.PENALTIES, dtype=object)[rng.integers(0, len(catalog.PENALTIES), len(e))]
        refs = np.array([f"衡罚〔{y}〕{x}号" for y, x in zip(d.astype("datetime64[Y]").astype(int) + 1970,
                                                         rng.integers(1, 999, len(e)), strict=True)], dtype=object)
        add("penalty", "penalty", e, d, np.round(rng.choice([2000.0, 5000.0, 10000.0, 30000.0, 50000.0], len(e)), 2),
            texts, ref=refs)
        # Abnormal operation list.
        e = np.flatnonzero((dist & (rng.random(n) < 0.25)) | (~dist & (rng.random(n) < 0.01)))
        d = np.where(dist[e], window_days(e, tr, tr + 6), random_days(e))
        add("market", "abnormal_operation", e, d, None,
            np.array(catalog.ABNORMAL_REASONS, dtype=object)[rng.integers(0, 3, len(e))])
        # Registration changes: legal representative or shareholder.
        e = np.flatnonzero(rng.random(n) < np.where(dist, 0.35, 0.12))
        d = np.where(dist[e], window_days(e, m0 - 2, tr), random_days(e))
        field = np.where(rng.random(len(e)) < 0.5, "legal_rep", "shareholder")
        new_names = self._person_names(rng, len(e))
        detail = np.array([{"field": f, "before": str(ent["legal"][i]) if f == "legal_rep" else None,
                            "after": str(x)} for f, i, x in zip(field, e, new_names, strict=True)], dtype=object)
        add("market", "registration_change", e, d, None,
            np.where(field == "legal_rep", "法定代表人变更", "股东变更").astype(object), detail)
        # Commendations for healthy firms.
        e = np.flatnonzero(~dist & (ent["scale"] >= 1) & (rng.random(n) < 0.06))
        add("public_credit", "commendation", e, random_days(e), None,
            np.array(catalog.COMMENDATIONS, dtype=object)[rng.integers(0, len(catalog.COMMENDATIONS), len(e))])
        return pd.concat(out, ignore_index=True)

    @staticmethod
    def _cases(rng, add, e, d, court, ent, *, defendant_p):
        years = d.astype("datetime64[Y]").astype(int) + 1970
        nums = rng.integers(100, 9999, len(e))
        refs = np.array([f"({y}){c}民初{x}号" for y, c, x in zip(years, court[e], nums, strict=True)], dtype=object)
        roles = np.where(rng.random(len(e)) < defendant_p, "defendant", "plaintiff")
        causes = np.array(catalog.CASE_CAUSES, dtype=object)[rng.integers(0, len(catalog.CASE_CAUSES), len(e))]
        amount = np.round(ent["revenue_wan"][e] * rng.uniform(3, 80, len(e)), 2)
        detail = np.array([{"role": r, "cause": c} for r, c in zip(roles, causes, strict=True)], dtype=object)
        add("judicial", "judicial_case", e, d, amount, causes, detail, ref=refs)

    def _statements(self, rng: np.random.Generator, ent: dict) -> pd.DataFrame:
        rows = []
        for year in (2023, 2024, 2025):
            founded_year = ent["founded"].astype("datetime64[Y]").astype(int) + 1970
            e = np.flatnonzero(founded_year < year)
            year_month = (year - 1970) * 12 + 6 - self.months[0].astype(np.int64)
            sick = ent["distressed"][e] & (ent["m0"][e] <= year_month)
            factor = (1.0 + 0.05 * (year - 2025)) * np.exp(rng.normal(0, 0.1, len(e)))
            revenue = ent["revenue_wan"][e] * 1e4 * factor * np.where(sick, 0.75, 1.0)
            margin = np.where(sick, rng.normal(-0.06, 0.05, len(e)), rng.normal(0.055, 0.04, len(e)))
            assets = revenue * rng.uniform(0.6, 1.6, len(e))
            lev = np.where(sick, rng.uniform(0.72, 0.95, len(e)), rng.uniform(0.3, 0.7, len(e)))
            liab = assets * lev
            profit = revenue * margin
            cents = lambda x: np.rint(x * 100).astype(np.int64)  # noqa: E731
            rows.append(pd.DataFrame({
                "enterprise_id": ent["id"][e], "year": year, "revenue": cents(revenue), "net_profit": cents(profit),
                "total_assets": cents(assets), "total_liabilities": cents(liab),
                "total_equity": cents(assets) - cents(liab),
                "current_assets": cents(assets * rng.uniform(0.4, 0.7, len(e))),
                "current_liabilities": cents(liab * rng.uniform(0.55, 0.85, len(e))),
                "operating_cash_flow": cents(profit * rng.uniform(0.5, 1.4, len(e)) + revenue * rng.normal(0, 0.02, len(e))),
                "received_at": self._ts(np.full(len(e), np.datetime64(f"{year + 1}-05-20", "s").astype(np.int64))),
            }))
        df = pd.concat(rows, ignore_index=True).sort_values(["enterprise_id", "year"], kind="stable")
        df = df.reset_index(drop=True)
        df.insert(0, "id", self._ids("financial_statement", len(df)))
        return df

    # ----------------------------------------------------------------- financing
    def _applications(self, rng: np.random.Generator, ent: dict, *, first_chunk: bool) -> dict[str, pd.DataFrame]:
        P = self._product_arrays
        n = ent["n"]
        lam = self.spec.apps_per_enterprise * np.where(rng.random(n) < 0.55, 1.75, 0.1)
        lam *= np.where(ent["distressed"], 1.3, 1.0) * np.where(ent["scale"] >= 2, 1.3, 1.0)
        counts = rng.poisson(lam)
        e = np.repeat(np.arange(n), counts)
        m = len(e)
        # Submission time: platform use grows over the window; business hours in Beijing.
        mw = np.exp(0.045 * np.arange(WINDOW_MONTHS))
        month = rng.choice(WINDOW_MONTHS, size=m, p=mw / mw.sum())
        day = self.months[month].astype("datetime64[D]") + rng.integers(0, 28, m)
        s = day.astype("datetime64[s]").astype(np.int64) + rng.integers(0, 9 * 3600, m)  # 08–17 CST
        earliest = (ent["founded"][e] + 45).astype("datetime64[s]").astype(np.int64)
        s = np.maximum(s, earliest)
        # Forced rows in the first chunk: one application reaching every status, on suitable borrowers.
        forced = np.full(m, "", dtype=object)
        if first_chunk:
            extra_e, extra_status = self._forced_apps(ent)
            e = np.concatenate([extra_e, e])
            s = np.concatenate([np.zeros(len(extra_e), dtype=np.int64), s])
            forced = np.concatenate([np.array(extra_status, dtype=object), forced])
            m = len(e)
        keep = s < self.cutoff - 2 * DAY
        keep[forced != ""] = True
        e, s, forced = e[keep], s[keep], forced[keep]
        m = len(e)
        # Product choice: up to 6 candidates, the first whose section and scale fit; else any usable one.
        usable = np.flatnonzero(P["usable"])
        cand = usable[rng.integers(0, len(usable), (m, 6))]
        sec_idx = np.array(["ABCDEFGHIJKLMNOPQRST".index(x) for x in ent["section"]])[e]
        fit = ((P["sec"][cand] >> sec_idx[:, None]) & 1).astype(bool) & \
            ((P["scale"][cand] >> ent["scale"][e][:, None]) & 1).astype(bool)
        first_ok = np.where(fit.any(axis=1), fit.argmax(axis=1), 0)
        prod = cand[np.arange(m), first_ok]
        inst = P["inst"][prod]
        # Amount and term within the product's range.
        want = ent["revenue_wan"][e] * 1e6 * rng.uniform(0.05, 0.3, m)
        amount = np.clip(want, P["amin"][prod], P["amax"][prod])
        amount = np.maximum(np.rint(amount / 1_000_000) * 1_000_000, 1_000_000).astype(np.int64)
        terms = np.array([3, 6, 12, 18, 24, 36, 48, 60])
        ok = (terms[None, :] >= P["tmin"][prod][:, None]) & (terms[None, :] <= P["tmax"][prod][:, None])
        pick = np.argmax(rng.random((m, len(terms))) * ok * np.array([1, 1.6, 3, 1, 1.6, 1.2, 0.6, 0.5]), axis=1)
        term = np.where(ok.any(axis=1), terms[pick], P["tmin"][prod])
        # Pipeline durations (seconds) and decisions.
        dur = np.stack([rng.uniform(0.2, 3, m), rng.uniform(1, 6, m), rng.uniform(2, 12, m),
                        rng.uniform(1, 7, m), rng.uniform(1, 5, m)], axis=1) * DAY
        off = np.cumsum(dur, axis=1).astype(np.int64)  # accepted, dd, decision, signed, disbursed
        in_decline = ent["distressed"][e] & (s >= ent["decline_day"][e].astype("datetime64[s]").astype(np.int64))
        young = (s - ent["founded"][e].astype("datetime64[s]").astype(np.int64)) < 2 * 365 * DAY
        rej_logit = -1.75 + 1.9 * in_decline + 0.5 * (ent["scale"][e] == 0) + 0.6 * young
        reject = rng.random(m) < 1 / (1 + np.exp(-rej_logit))
        withdraw_stage = np.where(rng.random(m) < 0.07, rng.integers(1, 5, m), 0)  # 4 = declines the offer
        method = np.array([ms[int(rng.integers(0, len(ms)))] for ms in (P["methods"][p] for p in prod)])
        # Loan outcome drivers.
        p_stop = np.where(ent["distressed"][e], 0.85, 0.0)
        surprise = rng.random(m) < 0.011
        late_now = rng.random(m) < 0.025
        write_off = rng.random(m) < 0.5
        # Apply the forced rows.
        cut = self.cutoff
        for i in np.flatnonzero(forced != ""):
            st = forced[i]
            reject[i], withdraw_stage[i], surprise[i], late_now[i], write_off[i] = False, 0, False, False, False
            p_stop[i] = 0.0
            stage_off = {"submitted": 0, "accepted": off[i, 0], "due_diligence": off[i, 1], "approved": off[i, 2],
                         "contract_signed": off[i, 3], "disbursed": off[i, 4]}
            if st in stage_off:
                s[i] = cut - stage_off[st] - int(0.1 * DAY)
            elif st == "rejected":
                reject[i], s[i] = True, cut - 60 * DAY
            elif st == "withdrawn":
                withdraw_stage[i], s[i] = 1, cut - 60 * DAY
            elif st == "repaying":
                s[i], term[i] = cut - 200 * DAY, 24
            elif st == "settled":
                s[i], term[i] = self.window_start + 20 * DAY, 6
            elif st == "overdue":
                s[i], term[i], late_now[i] = cut - 300 * DAY, 24, True
            elif st in ("defaulted", "written_off"):
                trouble = ent["trouble_day"][e[i]].astype("datetime64[s]").astype(np.int64)
                s[i], term[i], p_stop[i] = trouble - 160 * DAY, 36, 1.0
                write_off[i] = st == "written_off"
            if st in ("repaying", "overdue", "defaulted", "written_off", "settled"):
                lo = max(P["tmin"][prod[i]], 1)
                term[i] = int(min(max(term[i], lo), P["tmax"][prod[i]]))
        order = np.lexsort((s, e))
        arrays = {"e": e, "s": s, "prod": prod, "inst": inst, "amount": amount, "term": term, "off": off, "reject": reject,
                      "withdraw_stage": withdraw_stage, "method": method, "p_stop": p_stop, "surprise": surprise,
                      "late_now": late_now, "write_off": write_off, "in_decline": in_decline, "forced": forced}
        arrays = {k: v[order] for k, v in arrays.items()}
        return self._build_financing(rng, ent, arrays)

    def _forced_apps(self, ent: dict) -> tuple[np.ndarray, list[str]]:
        dist_idx = [i for i in range(4) if ent["distressed"][i]]
        healthy = [i for i in range(4, ent["n"]) if not ent["distressed"][i]][:12]
        e, status = [], []
        for j, st in enumerate(STAGES):
            if st in ("defaulted", "written_off"):
                e.append(dist_idx[0] if st == "defaulted" else dist_idx[1])
            else:
                e.append(healthy[j % len(healthy)])
            status.append(st)
        return np.array(e), status

    def _build_financing(self, rng: np.random.Generator, ent: dict, a: dict) -> dict[str, pd.DataFrame]:
        P = self._product_arrays
        m = len(a["e"])
        cut = self.cutoff
        app_ids = self._ids("application", m)
        s, off = a["s"], a["off"]
        NaN = np.nan
        times = {st: np.full(m, NaN) for st in STAGES}
        times["submitted"] = s.astype(float)
        ws = a["withdraw_stage"]
        t_acc, t_dd, t_dec, t_sign, t_disb = (s + off[:, i] for i in range(5))
        times["accepted"] = np.where((ws == 0) | (ws > 1), t_acc, NaN)
        times["due_diligence"] = np.where((ws == 0) | (ws > 2), t_dd, NaN)
        wd = {1: s + off[:, 0] // 2, 2: t_acc + (t_dd - t_acc) // 2, 3: t_dd + (t_dec - t_dd) // 2,
              4: t_dec + (t_sign - t_dec) // 2}
        times["withdrawn"] = np.select([ws == k for k in wd], [wd[k] for k in wd], NaN)
        decided = (ws == 0) | (ws == 4)
        times["rejected"] = np.where(decided & a["reject"], t_dec, NaN)
        approved = decided & ~a["reject"]
        times["approved"] = np.where(approved, t_dec, NaN)
        lends = approved & (ws == 0)
        times["contract_signed"] = np.where(lends, t_sign, NaN)
        times["disbursed"] = np.where(lends, t_disb, NaN)
        loan_mask = lends & (t_disb < cut)
        # Approved terms.
        rmin, rmax = P["rmin"][a["prod"]], P["rmax"][a["prod"]]
        risk = np.clip(rng.beta(2, 3, m) + 0.25 * a["in_decline"], 0, 1)
        rate = np.round((rmin + (rmax - rmin) * risk) * 20) / 20
        approved_amount = np.maximum(np.rint(a["amount"] * rng.uniform(0.6, 1.0, m) / 1_000_000) * 1_000_000,
                                     P["amin"][a["prod"]]).astype(np.int64)
        approved_amount = np.minimum(approved_amount, a["amount"])
        # Loans and their schedules.
        li = np.flatnonzero(loan_mask)
        loans, inst_df, loan_times = self._loans(rng, ent, a, li, approved_amount[li], rate[li], t_disb[li])
        for st in ("repaying", "overdue", "defaulted", "written_off", "settled"):
            times[st][li] = loan_times[st]
        # Statuses: the last stage reached by as_of.
        tmat = np.stack([times[st] for st in STAGES], axis=1)
        tmat = np.where(tmat < cut, tmat, NaN)
        last = np.nanargmax(np.where(np.isnan(tmat), -np.inf, tmat + np.arange(len(STAGES)) * 1e-3), axis=1)
        status = np.array(STAGES, dtype=object)[last]
        # Actors.
        insts = self.institutions
        officer = np.array([insts[i]["officers"][int(x) % len(insts[i]["officers"])]
                            for i, x in zip(a["inst"], rng.integers(0, 2, m), strict=True)])
        manager = np.array([insts[i]["managers"][0] for i in a["inst"]])
        admin = np.array([insts[i]["admins"][0] for i in a["inst"]])
        reached = lambda st: ~np.isnan(tmat[:, STAGES.index(st)])  # noqa: E731
        decided_now = reached("approved") | reached("rejected")
        reason_idx = rng.integers(0, len(catalog.REJECT_REASONS), m)
        reason_idx = np.where(a["in_decline"], rng.choice([0, 1, 3], m), reason_idx)
        reasons = np.array([r[0] for r in catalog.REJECT_REASONS], dtype=object)[reason_idx]
        reason_text = np.array([r[1] for r in catalog.REJECT_REASONS], dtype=object)[reason_idx]
        is_rej = reached("rejected")
        last_time = np.nanmax(tmat, axis=1)
        app = pd.DataFrame({
            "id": app_ids, "enterprise_id": ent["id"][a["e"]], "product_id": P["id"][a["prod"]],
            "institution_id": np.array([insts[i]["id"] for i in a["inst"]]), "need_id": pd.array([None] * m, dtype="Int64"),
            "status": status, "amount_requested": a["amount"], "term_months": a["term"],
            "officer_id": pd.array(np.where(reached("accepted"), officer, 0), dtype="Int64"),
            "proposed_by_id": pd.array(np.where(decided_now, officer, 0), dtype="Int64"),
            "decided_by_id": pd.array(np.where(decided_now, manager, 0), dtype="Int64"),
            "approved_amount": pd.array(np.where(reached("approved"), approved_amount, 0), dtype="Int64"),
            "approved_rate": np.where(reached("approved"), rate, NaN),
            "decision_reason_code": np.where(is_rej, reasons, None),
            "decision_text": np.where(is_rej, reason_text, np.where(reached("approved"), "符合准入条件，同意授信", None)),
            "submitted_at": self._ts(s), "decided_at": self._ts(np.where(decided_now, np.nan_to_num(
                np.fmax(times["approved"], times["rejected"])), 0).astype(np.int64)),
            "idempotency_key": [f"seed-app-{i}" for i in app_ids], "version": 1,
            "created_at": self._ts(s), "updated_at": self._ts(last_time.astype(np.int64)),
        })
        for col in ("officer_id", "proposed_by_id", "decided_by_id", "approved_amount"):
            app[col] = app[col].mask(app[col] == 0)
        app["decided_at"] = app["decided_at"].where(decided_now)
        # Events (long form).
        ev_app, ev_stage = np.nonzero(~np.isnan(tmat))
        ev_time = tmat[ev_app, ev_stage]
        order = np.lexsort((ev_stage, ev_time, ev_app))
        ev_app, ev_stage, ev_time = ev_app[order], ev_stage[order], ev_time[order]
        from_stage = np.concatenate([[-1], ev_stage[:-1]])
        from_stage[np.concatenate([[True], ev_app[1:] != ev_app[:-1]])] = -1
        stage_names = np.array(STAGES + [None], dtype=object)
        actor_of = {"accepted": officer, "due_diligence": officer, "contract_signed": officer, "disbursed": officer,
                    "approved": manager, "rejected": manager, "defaulted": manager, "written_off": admin}
        actor = np.zeros(len(ev_app), dtype=np.int64)
        for st, arr in actor_of.items():
            sel = ev_stage == STAGES.index(st)
            actor[sel] = arr[ev_app[sel]]
        events = pd.DataFrame({
            "id": self._ids("application_event", len(ev_app)), "application_id": app_ids[ev_app],
            "from_status": stage_names[from_stage], "to_status": stage_names[ev_stage],
            "actor_user_id": pd.array(actor, dtype="Int64"),
            "note": np.where(ev_stage == STAGES.index("rejected"), "审批未通过：" + reason_text[ev_app].astype(str),
                             np.array([STAGE_NOTES[x] for x in stage_names[ev_stage]], dtype=object)),
            "occurred_at": self._ts(ev_time.astype(np.int64)),
        })
        events["actor_user_id"] = events["actor_user_id"].mask(events["actor_user_id"] == 0)
        needs = self._needs(rng, ent, a, app, status)
        loans["application_id"] = app_ids[li]
        loans["_status_app"] = status[li]
        loans.loc[loans["_status_app"].isin(["disbursed", "repaying"]), "status"] = "active"
        loans = loans.drop(columns="_status_app")
        return {"financing_need": needs, "application": app, "application_event": events,
                "loan": loans, "repayment_installment": inst_df}

    def _loans(self, rng, ent, a, li, amount, rate, t_disb):
        """Loans for applications disbursed by as_of, with exact-cent schedules and payment history."""
        P = self._product_arrays
        nl = len(li)
        cut = self.cutoff
        e = a["e"][li]
        n = a["term"][li].astype(np.int64)
        method = a["method"][li]
        loan_ids = self._ids("loan", nl)
        disb_day = (t_disb // DAY).astype("datetime64[D]")
        dom = np.minimum(disb_day.astype("datetime64[D]") - disb_day.astype("datetime64[M]").astype("datetime64[D]"), 27)
        dom = dom.astype(np.int64)
        # Expand to installments.
        L = int(n.sum())
        loan_of = np.repeat(np.arange(nl), n)
        k = np.arange(L) - np.repeat(np.cumsum(n) - n, n) + 1
        due = (_month_add(disb_day.astype("datetime64[M]")[loan_of], k).astype("datetime64[D]") + dom[loan_of])
        Pc = amount.astype(np.int64)[loan_of].astype(float)
        r = rate[loan_of] / 1200.0
        nn = n[loan_of]
        mth = method[loan_of]
        # Equal installment: balances from the closed form, rounded to cents; principal telescopes exactly.
        g = (1 + r)
        A = Pc * r * g ** nn / (g ** nn - 1)
        bal = lambda j: np.where(j >= nn, 0.0, np.where(j <= 0, Pc, np.rint(Pc * g ** j - A * (g ** j - 1) / r)))  # noqa: E731
        b_prev_ei, b_cur_ei = bal(k - 1), bal(k)
        base = np.floor(Pc / nn)
        rem = Pc - base * nn
        b_prev_ep = Pc - base * (k - 1) - np.minimum(k - 1, rem)
        prin_ep = base + (k <= rem)
        principal = np.select([mth == 0, mth == 1], [b_prev_ei - b_cur_ei, prin_ep], np.where(k == nn, Pc, 0.0))
        b_prev = np.select([mth == 0, mth == 1], [b_prev_ei, b_prev_ep], Pc)
        interest = np.rint(b_prev * r)
        principal = np.rint(principal).astype(np.int64)
        interest = interest.astype(np.int64)
        # When does the borrower stop paying?
        due_s = due.astype("datetime64[s]").astype(np.int64)
        first_idx = np.cumsum(n) - n
        trouble = ent["trouble_day"][e]
        trouble_s = np.where(np.isnat(trouble), _FAR,
                             trouble.astype("datetime64[s]").astype(np.int64, copy=False))
        trouble_s = np.where(np.isnat(trouble), _FAR, trouble_s)
        stops = rng.random(nl) < a["p_stop"][li]
        miss_k = np.zeros(nl, dtype=np.int64)  # 0 = never misses
        after = due_s >= np.repeat(trouble_s, n)
        has_after = np.add.reduceat(after.astype(np.int64), first_idx) > 0
        first_after = np.where(has_after, n - np.add.reduceat(after.astype(np.int64), first_idx) + 1, 0)
        miss_k = np.where(stops & has_after, first_after, 0)
        surprise_k = 1 + (rng.random(nl) * n).astype(np.int64)
        miss_k = np.where((miss_k == 0) & a["surprise"][li], surprise_k, miss_k)
        # Healthy late payers: the last installment due by as_of is still unpaid (1–89 days past due).
        due_by_now = np.add.reduceat((due_s < cut).astype(np.int64), first_idx)
        late = (miss_k == 0) & a["late_now"][li] & (due_by_now >= 1)
        miss_k = np.where(late, due_by_now, miss_k)
        miss_due = np.where(miss_k > 0, due_s[first_idx + np.maximum(miss_k, 1) - 1], _FAR)
        default_s = np.where(late, _FAR, miss_due + 90 * DAY)
        defaulted = default_s < cut
        write_s = default_s + (rng.uniform(200, 330, nl) * DAY).astype(np.int64)
        written = defaulted & a["write_off"][li] & (write_s < cut)
        # Installment state.
        mk = np.repeat(miss_k, n)
        is_due = due_s < cut
        paid = is_due & ((mk == 0) | (k < mk))
        missed = is_due & (mk > 0) & (k >= mk)
        partial = missed & (k == mk) & (rng.random(L) < 0.3)
        late_days = np.where(paid & (rng.random(L) < np.where(np.repeat(ent["distressed"][e], n), 0.15, 0.04)),
                             rng.integers(1, 25, L), 0)
        late_days = np.minimum(late_days, np.maximum((self.as_of_day - due).astype(np.int64), 0))
        early_days = np.where(paid & (late_days == 0), rng.integers(0, 4, L), 0)
        paid_on = np.where(paid, due + late_days - early_days, np.datetime64("NaT"))
        total_due = principal + interest
        paid_amount = np.where(paid, total_due, np.where(partial, np.rint(total_due * rng.uniform(0.2, 0.7, L)), 0))
        interest_paid = np.minimum(paid_amount, interest)  # a payment settles interest first
        dpd = np.where(missed, (self.as_of_day - due).astype(np.int64), late_days)
        inst_status = np.select([paid, partial, missed], ["paid", "partial", "overdue"], "scheduled")
        inst_df = pd.DataFrame({
            "id": self._ids("repayment_installment", L), "loan_id": loan_ids[loan_of], "seq": k, "due_date": due.astype("datetime64[s]"),
            "principal_due": principal, "interest_due": interest, "paid_amount": paid_amount.astype(np.int64),
            "principal_paid": (paid_amount - interest_paid).astype(np.int64), "interest_paid": interest_paid.astype(np.int64),
            "paid_on": paid_on.astype("datetime64[s]"), "days_past_due": np.maximum(dpd, 0), "status": inst_status,
        })
        principal_paid = np.add.reduceat(np.where(paid, principal, 0), first_idx)
        outstanding = amount - principal_paid
        last_due_s = due_s[first_idx + n - 1]
        settled = (miss_k == 0) & (last_due_s < cut)
        # Loan-level status and the lifecycle times after disbursement.
        status = np.select([written, defaulted, miss_k > 0, settled], ["written_off", "defaulted", "overdue", "settled"], "active")
        status = np.where((miss_k > 0) & (miss_due >= cut), np.where(settled, "settled", "active"), status)
        first_due_s = due_s[first_idx] + 10 * 3600
        times = {
            "repaying": np.where(first_due_s < cut, first_due_s, np.nan),
            "overdue": np.where((miss_k > 0) & (miss_due + DAY < cut), miss_due + DAY + 3600, np.nan),
            "defaulted": np.where(defaulted, default_s + 9 * 3600, np.nan),
            "written_off": np.where(written, write_s + 9 * 3600, np.nan),
            "settled": np.where(settled, last_due_s + 8 * 3600, np.nan),
        }
        outstanding = np.where(settled, 0, outstanding)
        prods = a["prod"][li]
        loans = pd.DataFrame({
            "id": loan_ids, "application_id": 0, "enterprise_id": ent["id"][e],
            "institution_id": np.array([self.institutions[i]["id"] for i in a["inst"][li]], dtype=np.int64),
            "product_id": P["id"][prods], "amount": amount, "annual_rate": rate, "term_months": n,
            "repayment_method": np.array(METHODS, dtype=object)[method],
            "is_pure_credit": (P["type"][prods] == "credit_loan") & ~P["collateral"][prods],
            "is_first_loan": False, "disbursed_at": self._ts(t_disb),
            "maturity_date": (due_s[first_idx + n - 1] // DAY).astype("datetime64[D]").astype("datetime64[s]"),
            "status": status, "outstanding_principal": outstanding.astype(np.int64),
            "defaulted_at": self._ts(np.where(defaulted, default_s + 9 * 3600, 0)), "version": 1,
            "created_at": self._ts(t_disb),
            "updated_at": self._ts(np.nanmax(np.stack([t_disb.astype(float)] + [times[x] for x in times]), axis=0).astype(np.int64)),
        })
        loans["defaulted_at"] = loans["defaulted_at"].where(defaulted)
        # First loans: the enterprise's earliest loan on the platform, unless it borrowed before.
        prior = self._prior_history(ent)
        by_time = np.lexsort((t_disb, e))
        first = np.zeros(nl, dtype=bool)
        first[by_time] = ~pd.Series(e[by_time]).duplicated().to_numpy()
        loans["is_first_loan"] = first & ~prior[e]
        ent["has_loan"] = prior.copy()
        ent["has_loan"][e] = True
        return loans, inst_df, times

    def _prior_history(self, ent: dict) -> np.ndarray:
        if "prior" not in ent:
            age = (self.as_of_day - ent["founded"]).astype(np.int64) / 365.25
            u = np.random.default_rng([self.seed, 2, int(ent["id"][0])]).random(ent["n"])
            ent["prior"] = (age > 3) & (u < 0.25 + 0.25 * (ent["scale"] >= 1))
        return ent["prior"]

    def _needs(self, rng, ent, a, app: pd.DataFrame, status: np.ndarray) -> pd.DataFrame:
        m = len(app)
        linked = np.flatnonzero(rng.random(m) < 0.65)
        standalone_e = np.flatnonzero(rng.random(ent["n"]) < 0.12)
        n_need = len(linked) + len(standalone_e)
        ids = self._ids("financing_need", n_need)
        e = np.concatenate([a["e"][linked], standalone_e])
        created = np.concatenate([
            a["s"][linked] - (rng.uniform(0.5, 20, len(linked)) * DAY).astype(np.int64),
            self.cutoff - (rng.uniform(3, 500, len(standalone_e)) * DAY).astype(np.int64),
        ])
        created = np.maximum(created, (ent["founded"][e] + 30).astype("datetime64[s]").astype(np.int64))
        amount = np.concatenate([a["amount"][linked],
                                 np.maximum(np.rint(ent["revenue_wan"][standalone_e] * rng.uniform(0.05, 0.3, len(standalone_e)))
                                            * 1_000_000, 1_000_000).astype(np.int64)])
        term = np.concatenate([a["term"][linked], rng.choice([6, 12, 24, 36], len(standalone_e))])
        st_linked = status[linked]
        lent = np.isin(st_linked, ["disbursed", "repaying", "settled", "overdue", "defaulted", "written_off"])
        open_ = np.isin(st_linked, ["submitted", "accepted", "due_diligence", "approved", "contract_signed"])
        age = self.cutoff - created
        need_status_linked = np.where(lent, "closed", np.where(open_, "matched",
                                      np.where(age[: len(linked)] < 90 * DAY, "published", "expired")))
        sa_age = age[len(linked):]
        sa_roll = rng.random(len(standalone_e))
        need_status_sa = np.where(sa_roll < 0.25, "draft", np.where(sa_age < 90 * DAY, "published", "expired"))
        need_status = np.concatenate([need_status_linked, need_status_sa])
        sections = ent["section"][e]
        purposes = np.array([catalog.PURPOSES.get(x, catalog.PURPOSES["*"])[int(i) % len(catalog.PURPOSES.get(x, catalog.PURPOSES["*"]))]
                             for x, i in zip(sections, rng.integers(0, 10, n_need), strict=True)], dtype=object)
        published = np.where(need_status == "draft", np.nan, created + 600)
        df = pd.DataFrame({
            "id": ids, "enterprise_id": ent["id"][e], "amount": amount, "term_months": term, "purpose": purposes,
            "max_rate": np.where(rng.random(n_need) < 0.6, np.round(rng.uniform(4.5, 9.0, n_need), 2), np.nan),
            "accepts_collateral": rng.random(n_need) < 0.4, "status": need_status,
            "published_at": self._ts(np.nan_to_num(published).astype(np.int64)),
            "idempotency_key": [f"seed-need-{i}" for i in ids], "version": 1,
            "created_at": self._ts(created), "updated_at": self._ts(np.maximum(created + 600, np.where(
                np.isin(need_status, ["closed", "matched"]), created + 10 * DAY, created + 600))),
        })
        df["published_at"] = df["published_at"].where(need_status != "draft")
        df["updated_at"] = df["updated_at"].where(df["updated_at"] < self._ts([self.cutoff])[0], self._ts([self.cutoff - 60])[0])
        app.loc[linked, "need_id"] = ids[: len(linked)]
        return df

    def _enterprise_frame(self, ent: dict) -> pd.DataFrame:
        created = np.maximum(ent["founded"].astype("datetime64[s]").astype(np.int64), self.window_start - 200 * DAY)
        has_loan = ent.get("has_loan", self._prior_history(ent))
        return pd.DataFrame({
            "id": ent["id"], "credit_code": ent["credit_code"], "name": ent["name"], "district_code": ent["district"],
            "industry_section": ent["section"], "industry_division": ent["division"],
            "scale": np.array(SCALE_NAMES, dtype=object)[ent["scale"]], "founded_on": ent["founded"].astype("datetime64[s]"),
            "registered_capital": ent["capital_cents"], "employees": ent["employees"], "legal_rep_name": ent["legal"],
            "legal_rep_id_number": ent["legal_id"], "contact_name": ent["contact"], "contact_phone": ent["phone"],
            "address": ent["address"], "has_had_loan": has_loan, "version": 1,
            "created_at": self._ts(created), "updated_at": self._ts(created),
        })

    def _enterprise_users(self, rng, ent: dict, app: pd.DataFrame) -> dict[str, pd.DataFrame]:
        """Organizations and an admin plus a user for the demo enterprises: those with the most varied histories."""
        k = self.spec.demo_enterprises
        per = app.groupby("enterprise_id")["status"].nunique().sort_values(ascending=False, kind="stable")
        varied = list(per.index[: k // 2])
        no_loan = [int(i) for i, h in zip(ent["id"], ent.get("has_loan", np.zeros(ent["n"], bool)), strict=True)
                   if not h and i not in varied]
        chosen = (varied + no_loan)[:k]
        pos = {int(i): j for j, i in enumerate(ent["id"])}
        org_ids = self._ids("organization", len(chosen))
        created = self._ts([self.window_start])[0]
        orgs = pd.DataFrame({
            "id": org_ids, "code": [f"ENT-{ent['credit_code'][pos[c]]}" for c in chosen],
            "name": [ent["name"][pos[c]] for c in chosen], "name_en": None, "kind": "enterprise",
            "short_name": None, "district_code": [ent["district"][pos[c]] for c in chosen],
            "parent_id": pd.array([None] * len(chosen), dtype="Int64"), "enterprise_id": pd.array(chosen, dtype="Int64"),
            "is_active": True, "created_at": created,
        })
        users = []
        for org_id, eid in zip(org_ids, chosen, strict=True):
            for role in (Role.enterprise_admin, Role.enterprise_user):
                num = self._role_counter[role] = self._role_counter.get(role, 0) + 1
                subject = f"demo-{role}-{num}"
                users.append({"id": int(self._ids("user_account", 1)[0]), "subject": subject,
                                  "display_name": str(ent["legal"][pos[eid]]) if role == Role.enterprise_admin
                                  else str(self._person_names(rng, 1)[0]),
                                  "email": f"{subject}@demo.jinfu.example", "phone": str(self._phones(rng, 1)[0]),
                                  "locale": "zh_CN", "organization_id": int(org_id), "roles": [role.value], "is_active": True,
                                  "created_at": created, "_eid": eid})
        users_df = pd.DataFrame(users)
        admin_of = dict(zip(users_df.loc[users_df["roles"].str[0] == "enterprise_admin", "_eid"],
                            users_df.loc[users_df["roles"].str[0] == "enterprise_admin", "id"], strict=True))
        self._pending_actor_fill = admin_of
        return {"organization": orgs, "user_account": users_df.drop(columns="_eid")}


def fill_enterprise_actors(frames: dict[str, pd.DataFrame], admin_of: dict[int, int]) -> None:
    """Submitted/withdrawn events of demo enterprises are made by their enterprise_admin user."""
    if not admin_of:
        return
    app = frames["application"]
    ev = frames["application_event"]
    owner = ev["application_id"].map(app.set_index("id")["enterprise_id"])
    user = owner.map(admin_of)
    sel = ev["to_status"].isin(["submitted", "withdrawn"]) & user.notna()
    ev.loc[sel, "actor_user_id"] = user[sel].astype("int64")


def iter_frames(
    scale: str = "demo", seed: int = 42, *, n_enterprises: int | None = None, as_of: date = DEFAULT_AS_OF
) -> Iterator[dict[str, pd.DataFrame]]:
    """The static frames, then one dict per enterprise chunk (bounded memory for large scales)."""
    gen = DemoGenerator(scale, seed, n_enterprises=n_enterprises, as_of=as_of)
    static = gen.static_frames()
    yield static
    matchmaking = Matchmaking(gen, static)  # leads and hall appointments
    for k, chunk in enumerate(gen.enterprise_chunks()):
        admin_of = getattr(gen, "_pending_actor_fill", {})
        fill_enterprise_actors(chunk, admin_of)
        gen._pending_actor_fill = {}
        matchmaking.add(k, chunk, admin_of)
        yield chunk


def generate(
    scale: str = "demo", seed: int = 42, *, n_enterprises: int | None = None, as_of: date = DEFAULT_AS_OF
) -> dict[str, pd.DataFrame]:
    """Every frame of the data set at once (tests and small scales; use :func:`iter_frames` for large)."""
    parts: dict[str, list[pd.DataFrame]] = {}
    for frames in iter_frames(scale, seed, n_enterprises=n_enterprises, as_of=as_of):
        for table, df in frames.items():
            parts.setdefault(table, []).append(df)
    return {t: pd.concat(dfs, ignore_index=True) if len(dfs) > 1 else dfs[0] for t, dfs in parts.items()}
