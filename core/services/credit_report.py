"""The one-enterprise-one-file credit report (一企一档) an institution reads under the enterprise's consent.

Rules (each one is tested in ``tests/integration/credit_report/``):

* **Who** — institution staff holding ``credit_file.read``; regulators and enterprises use other paths.
* **Consent** — the report shows each scope (``basic``, ``gov_records``, ``financials``, ``credit``)
  only when an active grant of the enterprise covers the reader's institution and that scope (a grant
  to a head office covers its branches; see ``core.services.consent``). A scope not covered is
  returned as *not authorised* (``CreditReport.missing``), never as an empty section. With no scope
  covered at all the read is refused (``ConsentRequiredError``) and nothing is logged.
* **Access log** — every scope shown writes one ``DataAccessLog`` row naming the grant that covers it,
  in the read's own transaction: a section is never disclosed without its row. Downloading the PDF
  is a further disclosure and writes one row of scope ``report_pdf`` (``record_report_download``).
* **Masking** — people are masked per ``core.auth.masking`` (a ``basic`` grant shows names and phones,
  never a full identity number). Other institutions' names and products in the loan history are
  generalized to their kind and product type, as credit reports do for other lenders.
* **Disputes** — records under an open dispute are flagged; the count is the report's banner.

Sections are loaded by ``core.services.credit_report_data``; the PDF is drawn by
``core.services.report_pdf`` from the returned ``CreditReport`` (no session there).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
from sqlmodel import Session, col, select

from core.auth import Actor, Permission
from core.auth.masking import Disclosure, disclosure_for, mask_person
from core.errors import ForbiddenError, InvalidError, NotFoundError
from core.i18n import translate
from core.models import ConsentGrant, DataAccessLog, Enterprise, Organization, User
from core.models.types import utcnow
from core.services import credit_report_data as data
from core.services.consent import SCOPES, ConsentRequiredError, _clean_purpose, active_grants
from core.services.directory import _profile, institution_ancestors, institution_family, today_local
from core.usecase import use_case

log = logging.getLogger("jinfu.consent")

SHANGHAI = ZoneInfo("Asia/Shanghai")
PDF_SCOPE = "report_pdf"
REPORT_NUMBER = re.compile(r"^JF\d{8}-\d{8}$")


class ReportConsentRequiredError(ConsentRequiredError):
    """No active grant of the enterprise covers the caller's institution for any scope."""

    key = "report.error.no_consent"

    def message(self, locale: str | None = None) -> str:
        return translate(self.key, locale)


BasicFacts = data.BasicFacts
CreditRating = data.CreditRating
GovData = data.GovData
LoanHistory = data.LoanHistory
Ownership = data.Ownership


@dataclass
class ConsentUsed:
    """One grant a report section was read under."""

    consent_id: int
    institution_id: int
    scopes: list[str]
    expires_at: datetime
    application_id: int | None


@dataclass
class CreditReport:
    """An enterprise's credit report as one institution reader may see it, with its header.

    A section attribute is ``None`` exactly when its scope is in ``missing`` (not authorised).
    """

    report_number: str
    generated_at: datetime  # UTC
    purpose: str
    institution_id: int
    institution_name: str
    institution_name_en: str | None
    officer_name: str
    enterprise_id: int
    name: str
    credit_code: str
    disclosure: Disclosure
    granted: list[str]  # scopes shown, canonical order
    missing: list[str]  # scopes not authorised
    consents: list[ConsentUsed]  # the grants used, longest-lasting first
    access_log_ids: dict[str, int]  # scope -> DataAccessLog id
    disputes: pd.DataFrame  # record_type, record_id, status, due_at, days_left (shown sections only)
    basic: data.BasicFacts | None = None
    ownership: data.Ownership | None = None
    gov: data.GovData | None = None
    financials: pd.DataFrame | None = None
    rating: data.CreditRating | None = None
    loans: data.LoanHistory | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def consent_id(self) -> int:
        """The main grant: the longest-lasting one the report was read under."""
        return self.consents[0].consent_id

    @property
    def consent_expires_at(self) -> datetime:
        return self.consents[0].expires_at

    @property
    def disputed_count(self) -> int:
        return len(self.disputes)

    @property
    def masked_code(self) -> str:
        """The credit code with its middle hidden, for file names: ``9113xxxxxxxxxx001B``.

        Lower-case ``x`` never occurs in a credit code and, unlike ``*``, is valid in every file system.
        """
        code = self.credit_code
        return code[:4] + "x" * max(len(code) - 8, 0) + code[-4:] if len(code) > 8 else code

    def pdf_file_name(self) -> str:
        """``信用报告_<code-masked>_<YYYYMMDD>.pdf`` (the date of generation, Asia/Shanghai)."""
        return f"信用报告_{self.masked_code}_{self.generated_at.astimezone(SHANGHAI):%Y%m%d}.pdf"


def _staff_organization(actor: Actor) -> int:
    if actor.organization_id is None or actor.enterprise_id is not None:
        raise ForbiddenError("error.forbidden")
    return actor.organization_id


def _covering(grants: list[ConsentGrant], scope: str) -> ConsentGrant | None:
    """The longest-lasting grant covering ``scope`` (``active_grants`` sorts by expiry, latest first)."""
    return next((g for g in grants if scope in (g.scopes or [])), None)


@use_case(permission=Permission.credit_file_read)
def consented_enterprises(uow, *, actor: Actor, search: str | None = None, limit: int = 500) -> pd.DataFrame:
    """The enterprises whose active grants cover the actor's institution (the credit-report picker).

    Args:
        search: optional text matched against the enterprise's name or credit code.
        limit: at most this many enterprises (1–5,000).

    Returns:
        DataFrame ``enterprise_id``, ``name``, ``credit_code``, ``scopes`` (list, union of the
        grants), ``expires_at`` (the latest expiry), sorted by name.
    """
    session = uow.session
    covering = institution_ancestors(session, _staff_organization(actor))
    now = utcnow()
    query = (
        select(ConsentGrant, Enterprise.name, Enterprise.credit_code)
        .join(Enterprise, col(Enterprise.id) == col(ConsentGrant.enterprise_id))
        .where(
            col(ConsentGrant.institution_id).in_(covering),
            col(ConsentGrant.revoked_at).is_(None),
            ConsentGrant.expires_at > now,
        )
    )
    if search and search.strip():
        pattern = f"%{search.strip()}%"
        query = query.where(
            col(Enterprise.name).like(pattern) | col(Enterprise.credit_code).like(pattern.upper())
        )
    merged: dict[int, dict[str, Any]] = {}
    for grant, name, code in session.exec(query):
        row = merged.setdefault(
            grant.enterprise_id,
            {
                "enterprise_id": grant.enterprise_id,
                "name": name,
                "credit_code": code,
                "scopes": set(),
                "expires_at": now,
            },
        )
        row["scopes"] |= set(grant.scopes or [])
        row["expires_at"] = max(row["expires_at"], grant.expires_at)
    rows = sorted(merged.values(), key=lambda r: r["name"])[: max(1, min(int(limit), 5000))]
    for row in rows:
        row["scopes"] = [s for s in SCOPES if s in row["scopes"]]
    return pd.DataFrame(rows, columns=["enterprise_id", "name", "credit_code", "scopes", "expires_at"])


def _refuse(actor: Actor, org_id: int, enterprise_id: int, scope: str) -> ConsentRequiredError:
    log.warning(
        "credit report read refused: user=%s org=%s enterprise=%s scope=%s",
        actor.user_id,
        org_id,
        enterprise_id,
        scope,
    )
    return ConsentRequiredError(scope=scope)


def _basic(session: Session, ent: Enterprise, level: Disclosure, disputes: dict) -> data.BasicFacts:
    profile = _profile(session, int(ent.id))
    rep = mask_person(level, name=ent.legal_rep_name, id_number=ent.legal_rep_id_number)
    contact = mask_person(level, name=ent.contact_name, phone=ent.contact_phone)
    return data.BasicFacts(
        district_name=profile.district_name,
        district_name_en=profile.district_name_en,
        industry_name=profile.industry_name,
        industry_name_en=profile.industry_name_en,
        scale=profile.scale.value,
        founded_on=profile.founded_on,
        years_in_business=profile.years_in_business,
        employees=profile.employees,
        registered_capital=profile.registered_capital,
        address=profile.address,
        legal_rep_name=rep["name"],
        legal_rep_id_number=rep["id_number"],
        contact_name=contact["name"],
        contact_phone=contact["phone"],
        disputed=("enterprise", int(ent.id)) in disputes,
    )


@use_case(permission=Permission.credit_file_read)
def read_credit_report(uow, *, actor: Actor, enterprise_id: int, purpose: str) -> CreditReport:
    """An enterprise's credit report: every scope its active consent lets the actor's institution see.

    Each scope shown writes one ``DataAccessLog`` row (under the grant covering it) in this read's
    transaction; scopes not covered come back in ``CreditReport.missing`` with no data.

    Args:
        enterprise_id: the enterprise.
        purpose: why the report is read (2–200 characters; recorded in the access log and the header).

    Raises:
        ForbiddenError: the actor is not institution staff.
        InvalidError: missing or bad purpose (field ``purpose``).
        NotFoundError: no such enterprise.
        ConsentRequiredError: no active grant covers the actor's institution for any scope.
    """
    session = uow.session
    org_id = _staff_organization(actor)
    clean_purpose = _clean_purpose(purpose, "bank.file.error.purpose")
    ent = session.get(Enterprise, enterprise_id)
    if ent is None:
        raise NotFoundError("error.not_found")
    grants = active_grants(session, enterprise_id=enterprise_id, organization_id=org_id)
    used = {scope: _covering(grants, scope) for scope in SCOPES}
    granted = [s for s in SCOPES if used[s] is not None]
    if not granted:
        _refuse(actor, org_id, enterprise_id, "any")
        raise ReportConsentRequiredError()
    now = utcnow()
    log_ids: dict[str, int] = {}
    for scope in granted:
        entry = DataAccessLog(
            actor_user_id=actor.user_id,
            institution_id=org_id,
            enterprise_id=enterprise_id,
            consent_id=used[scope].id,
            scope=scope,
            purpose=clean_purpose,
            accessed_at=now,
        )
        session.add(entry)
        session.flush()
        log_ids[scope] = int(entry.id)
    consents = sorted(
        {g.id: g for g in used.values() if g is not None}.values(), key=lambda g: g.expires_at, reverse=True
    )
    org = session.get(Organization, org_id)
    officer = session.get(User, actor.user_id) if actor.user_id is not None else None
    all_scopes = {s for g in grants for s in (g.scopes or [])}
    level = disclosure_for(actor, enterprise_id=enterprise_id, consent_scopes=all_scopes)
    disputes = {
        key: value
        for key, value in data.open_disputes(session, enterprise_id).items()
        if data.DISPUTE_SCOPE.get(key[0]) in granted
    }
    report = CreditReport(
        report_number=f"JF{now.astimezone(SHANGHAI):%Y%m%d}-{min(log_ids.values()):08d}",
        generated_at=now,
        purpose=clean_purpose,
        institution_id=org_id,
        institution_name=org.name if org else "",
        institution_name_en=org.name_en if org else None,
        officer_name=officer.display_name if officer else actor.label,
        enterprise_id=int(ent.id),
        name=ent.name,
        credit_code=ent.credit_code,
        disclosure=level,
        granted=granted,
        missing=[s for s in SCOPES if s not in granted],
        consents=[
            ConsentUsed(int(g.id), g.institution_id, list(g.scopes or []), g.expires_at, g.application_id)
            for g in consents
        ],
        access_log_ids=log_ids,
        disputes=pd.DataFrame(
            [{"record_type": k[0], "record_id": k[1], **v} for k, v in disputes.items()],
            columns=["record_type", "record_id", "status", "due_at", "days_left"],
        ),
    )
    if "basic" in granted:
        report.basic = _basic(session, ent, level, disputes)

        def mask(name: str | None, id_number: str | None) -> tuple[str | None, str | None]:
            person = mask_person(level, name=name, id_number=id_number)
            return person["name"], person["id_number"]

        report.ownership = data.ownership(
            session, enterprise_id, mask=mask, disputes=disputes, today=today_local()
        )
    if "gov_records" in granted:
        report.gov = data.gov_data(session, enterprise_id, disputes=disputes)
    if "financials" in granted:
        report.financials = data.financials(session, enterprise_id, disputes=disputes)
    if "credit" in granted:
        report.rating = data.rating(session, enterprise_id)
        report.loans = data.loan_history(
            session, enterprise_id, own_family=institution_family(session, org_id)
        )
    return report


@use_case(permission=Permission.credit_file_read)
def record_report_download(
    uow, *, actor: Actor, enterprise_id: int, scopes: list[str], purpose: str, report_number: str
) -> int:
    """Log the download of a report's PDF (scope ``report_pdf``) before its bytes are handed out.

    The PDF discloses the report's sections again, so each of them must still be covered by an active
    grant now (a consent revoked since the report was read refuses the download).

    Args:
        enterprise_id: the report's enterprise.
        scopes: the report's shown scopes (``CreditReport.granted``).
        purpose: the report's purpose (recorded again in the access log).
        report_number: the report's number (``JFyyyymmdd-nnnnnnnn``), written to the security log.

    Returns:
        The new ``DataAccessLog`` row's id.

    Raises:
        ForbiddenError: the actor is not institution staff.
        InvalidError: unknown scopes, bad purpose or report number.
        NotFoundError: no such enterprise.
        ConsentRequiredError: a scope of the report is no longer covered.
    """
    session = uow.session
    org_id = _staff_organization(actor)
    chosen = list(scopes or [])
    if not chosen or any(s not in SCOPES for s in chosen):
        raise InvalidError("bank.file.error.scope", field="scopes")
    clean_purpose = _clean_purpose(purpose, "bank.file.error.purpose")
    if not REPORT_NUMBER.match(str(report_number or "")):
        raise InvalidError("report.error.number", field="report_number")
    if session.get(Enterprise, enterprise_id) is None:
        raise NotFoundError("error.not_found")
    grants = active_grants(session, enterprise_id=enterprise_id, organization_id=org_id)
    for scope in chosen:
        if _covering(grants, scope) is None:
            raise _refuse(actor, org_id, enterprise_id, scope)
    entry = DataAccessLog(
        actor_user_id=actor.user_id,
        institution_id=org_id,
        enterprise_id=enterprise_id,
        consent_id=_covering(grants, chosen[0]).id,
        scope=PDF_SCOPE,
        purpose=clean_purpose,
    )
    session.add(entry)
    session.flush()
    log.info("credit report pdf: report=%s log=%s user=%s", report_number, entry.id, actor.user_id)
    return int(entry.id)
