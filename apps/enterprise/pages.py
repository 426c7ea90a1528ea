"""The enterprise app's pages and who may see them (the router reads this list)."""

from __future__ import annotations

from apps.common.navigation import PageSpec
from core.auth import Permission

PAGES: list[PageSpec] = [
    # Home (issue 6): what to do next, recommended products, needs, applications and due dates.
    PageSpec(
        "app_pages/home/home.py",
        "home.nav.home",
        ":material/home:",
        "home",
        permission=Permission.enterprise_self,
        needs_enterprise=True,
        default=True,
    ),
    PageSpec(
        "app_pages/profile/overview.py",
        "ent.nav.profile",
        ":material/storefront:",
        "profile",
        permission=Permission.enterprise_self,
        needs_enterprise=True,
    ),
    PageSpec(
        "app_pages/products/for_me.py",
        "ent.nav.products",
        ":material/shopping_bag:",
        "products",
        permission=Permission.enterprise_self,
        needs_enterprise=True,
    ),
    PageSpec(
        "app_pages/consent/grants.py",
        "ent.nav.consent",
        ":material/verified_user:",
        "consent",
        permission=Permission.consent_manage,
        needs_enterprise=True,
    ),
    # Credit portrait, the data the platform holds and disputes of it (issue 5).
    PageSpec(
        "app_pages/credit/portrait.py",
        "portrait.nav.portrait",
        ":material/speed:",
        "credit-portrait",
        permission=Permission.enterprise_self,
        needs_enterprise=True,
    ),
    PageSpec(
        "app_pages/credit/my_data.py",
        "portrait.nav.my_data",
        ":material/dataset:",
        "my-data",
        permission=Permission.enterprise_self,
        needs_enterprise=True,
    ),
    # Matchmaking (issue 6): needs and their dispatch; applications; loans, first-loan center, notices.
    PageSpec(
        "app_pages/needs/needs.py",
        "matching.nav.needs",
        ":material/campaign:",
        "needs",
        permission=Permission.enterprise_self,
        needs_enterprise=True,
    ),
    PageSpec(
        "app_pages/applications/my_applications.py",
        "review.nav.my_applications",
        ":material/timeline:",
        "my-applications",
        permission=Permission.applications_own,
        needs_enterprise=True,
    ),
    PageSpec(
        "app_pages/loans/my_loans.py",
        "loans.nav.my_loans",
        ":material/payments:",
        "my-loans",
        permission=Permission.enterprise_self,
        needs_enterprise=True,
    ),
    PageSpec(
        "app_pages/first_loan/center.py",
        "loans.nav.first_loan",
        ":material/emoji_people:",
        "first-loan",
        permission=Permission.enterprise_self,
        needs_enterprise=True,
    ),
    PageSpec(
        "app_pages/notifications/inbox.py",
        "loans.nav.notifications",
        ":material/notifications:",
        "notifications",
        permission=Permission.enterprise_self,
        needs_enterprise=True,
    ),
    # Risk early warning (issue 7): the warnings that concern us.
    PageSpec(
        "app_pages/risk/warnings.py",
        "riskui.nav.warnings",
        ":material/notification_important:",
        "warnings",
        permission=Permission.enterprise_self,
        needs_enterprise=True,
    ),
]
