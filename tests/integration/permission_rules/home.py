"""Matrix rules for the enterprise home page (issue 6, item 9): one read of the enterprise's own overview."""

from __future__ import annotations

from core.auth import Permission
from tests.integration.permission_world import Builder, Rule

H = "core.services.enterprise_home."

RULES: dict[str, Rule] = {
    # Only the enterprise's own users: the overview includes the caller's own inbox, so oversight roles
    # (which lack ``enterprise.self``) read an enterprise through the regulator's screens instead.
    H + "home_overview": Rule(Permission.enterprise_self, "own_enterprise",
                              note="the enterprise's own users; oversight lacks enterprise.self"),
}

ARGUMENTS: dict[str, Builder] = {
    H + "home_overview": lambda w, sc, r: {"enterprise_id": w.side(sc).enterprise_id},
}
