"""The regulator app's pages and who may see them (the router reads this list)."""

from __future__ import annotations

from apps.common.navigation import PageSpec
from core.auth import Permission

PAGES: list[PageSpec] = [
    PageSpec(
        "app_pages/overview/platform.py",
        "reg.nav.overview",
        ":material/monitoring:",
        "overview",
        permission=Permission.platform_stats,
        default=True,
    ),
    # Operator user administration (operators and regulator admins).
    PageSpec(
        "app_pages/admin/institutions.py",
        "reg.admin.nav.orgs",
        ":material/account_balance:",
        "admin-institutions",
        permission=Permission.admin_users,
    ),
    PageSpec(
        "app_pages/admin/users.py",
        "reg.admin.nav.users",
        ":material/manage_accounts:",
        "admin-users",
        permission=Permission.admin_users,
    ),
    PageSpec(
        "app_pages/admin/audit_log.py",
        "reg.admin.nav.audit",
        ":material/fact_check:",
        "audit-log",
        permission=Permission.admin_users,
    ),
    # Models and data (issue 5): rating models, data quality, imports, disputes.
    PageSpec(
        "app_pages/models/models.py",
        "models.nav.models",
        ":material/model_training:",
        "models",
        permission=Permission.oversight,
    ),
    PageSpec(
        "app_pages/data/quality.py",
        "dqc.nav.quality",
        ":material/rule:",
        "data-quality",
        permission=Permission.oversight,
    ),
    PageSpec(
        "app_pages/data/imports.py",
        "ingest.nav.imports",
        ":material/upload_file:",
        "data-imports",
        permission=Permission.data_import,
    ),
    PageSpec(
        "app_pages/data/disputes.py",
        "portrait.nav.disputes",
        ":material/gavel:",
        "disputes",
        permission=Permission.disputes_answer,
    ),
    # Matchmaking ledger and first-loan funnel (issue 6).
    PageSpec(
        "app_pages/ledger/ledger.py",
        "loans.nav.ledger",
        ":material/table_view:",
        "ledger",
        permission=Permission.oversight,
    ),
    # Risk early warning (issue 7): oversight, rule sets, large-default cases.
    PageSpec(
        "app_pages/risk/oversight.py",
        "riskui.nav.oversight",
        ":material/crisis_alert:",
        "risk-oversight",
        permission=Permission.oversight,
    ),
    PageSpec(
        "app_pages/risk/rule_sets.py",
        "riskui.nav.rule_sets",
        ":material/tune:",
        "risk-rules",
        permission=Permission.oversight,
    ),
    PageSpec(
        "app_pages/risk/cases.py",
        "riskui.nav.cases",
        ":material/gavel:",
        "risk-cases",
        permission=Permission.oversight,
    ),
]
