"""Roles and the permissions each one grants — the one table every service check reads."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    enterprise_user = "enterprise_user"
    enterprise_admin = "enterprise_admin"
    bank_officer = "bank_officer"
    bank_manager = "bank_manager"
    bank_admin = "bank_admin"
    guarantee_staff = "guarantee_staff"
    insurer_staff = "insurer_staff"
    regulator_analyst = "regulator_analyst"
    regulator_admin = "regulator_admin"
    operator = "operator"
    wall_viewer = "wall_viewer"
    system = "system"  # scripts and scheduled jobs
    identity_provider = "identity_provider"  # the sign-in provider's own process; never assigned to a person


# Roles a person can hold (the others are processes: scripts and the sign-in provider).
PERSON_ROLES: frozenset[Role] = frozenset(Role) - {Role.system, Role.identity_provider}


class Permission(StrEnum):
    platform_stats = "platform.stats"  # aggregate statistics (regulator, wall)
    products_browse = "products.browse"  # the financial supermarket
    products_manage = "products.manage"  # create, edit, publish own institution's products
    enterprise_self = "enterprise.self"  # read and edit one's own enterprise
    enterprise_list = "enterprise.list"  # list enterprises (demo pickers, regulator)
    institution_list = "institution.list"
    applications_own = "applications.own"  # an enterprise's own applications
    applications_institution = "applications.institution"  # an institution's applications
    applications_decide = "applications.decide"  # maker-checker: the checker's side
    oversight = "oversight.read"  # ledger, league tables, all rows read-only
    admin_users = "admin.users"
    seed = "platform.seed"  # loading demo or reference data
    identity_provider = "identity.provider"  # credentials, codes and tokens: only the sign-in provider
    consent_manage = "consent.manage"  # grant, list and revoke one's own enterprise's consents; its access log
    credit_file_read = "credit_file.read"  # read an enterprise's credit file under its consent (institutions)
    models_manage = "models.manage"  # train, compare and propose rating models (regulators)
    models_approve = "models.approve"  # approve or retire a rating model; only an approved model rates
    rating_run = "rating.run"  # run the batch or incremental rating (operator, scheduled jobs)
    quality_manage = "quality.manage"  # edit, enable, disable and publish data-quality rule sets; run checks
    data_import = "data.import"  # import department files and pull from department APIs (operator)
    disputes_answer = "disputes.answer"  # answer an enterprise's dispute of a record within 20 days (operator)
    risk_manage = "risk.manage"  # edit, dry-run, publish and roll back early-warning rule sets; work large-default cases


_ENTERPRISE = {
    Permission.products_browse,
    Permission.enterprise_self,
    Permission.applications_own,
    Permission.consent_manage,
}
_BANK = {
    Permission.products_browse,
    Permission.products_manage,
    Permission.applications_institution,
    Permission.credit_file_read,
}
_REGULATOR = {
    Permission.platform_stats,
    Permission.products_browse,
    Permission.enterprise_list,
    Permission.institution_list,
    Permission.oversight,
}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.enterprise_user: frozenset(_ENTERPRISE),
    Role.enterprise_admin: frozenset(_ENTERPRISE),
    Role.bank_officer: frozenset(_BANK),
    Role.bank_manager: frozenset(_BANK | {Permission.applications_decide}),
    Role.bank_admin: frozenset(_BANK | {Permission.applications_decide}),
    Role.guarantee_staff: frozenset(_BANK),
    Role.insurer_staff: frozenset(_BANK),
    Role.regulator_analyst: frozenset(_REGULATOR | {Permission.models_manage}),
    Role.regulator_admin: frozenset(
        _REGULATOR | {Permission.admin_users, Permission.models_manage, Permission.models_approve,
                      Permission.quality_manage, Permission.risk_manage}
    ),
    Role.operator: frozenset(
        _REGULATOR | {Permission.admin_users, Permission.seed, Permission.rating_run, Permission.quality_manage,
                      Permission.data_import, Permission.disputes_answer}
    ),
    Role.wall_viewer: frozenset({Permission.platform_stats}),
    Role.identity_provider: frozenset({Permission.identity_provider}),
    Role.system: frozenset(Permission),
}
