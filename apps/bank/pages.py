"""The bank app's pages and who may see them (the router reads this list)."""

from __future__ import annotations

from apps.common.navigation import PageSpec
from core.auth import Permission

PAGES: list[PageSpec] = [
    PageSpec(
        "app_pages/products/our_products.py",
        "bank.nav.products",
        ":material/inventory_2:",
        "products",
        permission=Permission.products_manage,
        needs_organization=True,
    ),
    PageSpec(
        "app_pages/applications/inbox.py",
        "bank.nav.applications",
        ":material/assignment:",
        "applications",
        permission=Permission.applications_institution,
        needs_organization=True,
    ),
    PageSpec(
        "app_pages/credit_file/viewer.py",
        "bank.nav.credit_file",
        ":material/folder_shared:",
        "credit-file",
        permission=Permission.credit_file_read,
        needs_organization=True,
    ),
    # Matchmaking (issue 6): workbench, leads, review, loans, white-list, credit enhancement.
    PageSpec(
        "app_pages/workbench/workbench.py",
        "matching.nav.workbench",
        ":material/dashboard:",
        "workbench",
        permission=Permission.applications_institution,
        needs_organization=True,
        default=True,
    ),
    PageSpec(
        "app_pages/leads/inbox.py",
        "matching.nav.leads",
        ":material/move_to_inbox:",
        "leads",
        permission=Permission.applications_institution,
        needs_organization=True,
    ),
    PageSpec(
        "app_pages/applications/review.py",
        "review.nav.review",
        ":material/fact_check:",
        "review",
        permission=Permission.applications_institution,
        needs_organization=True,
    ),
    PageSpec(
        "app_pages/loans/servicing.py",
        "loans.nav.servicing",
        ":material/account_balance_wallet:",
        "loans",
        permission=Permission.applications_institution,
        needs_organization=True,
    ),
    PageSpec(
        "app_pages/products/whitelist.py",
        "market.nav.whitelist",
        ":material/checklist:",
        "whitelist",
        permission=Permission.products_manage,
        needs_organization=True,
    ),
    PageSpec(
        "app_pages/enhancement/requests.py",
        "review.nav.enhancement",
        ":material/shield:",
        "enhancement",
        permission=Permission.applications_institution,
        needs_organization=True,
    ),
    # Risk early warning (issue 7): post-loan monitoring.
    PageSpec(
        "app_pages/risk/post_loan.py",
        "riskui.nav.post_loan",
        ":material/crisis_alert:",
        "post-loan",
        permission=Permission.applications_institution,
        needs_organization=True,
    ),
]
