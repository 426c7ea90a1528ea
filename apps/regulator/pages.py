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
]
