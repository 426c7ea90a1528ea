"""The actor: who is calling a service, with their organization and roles."""

from __future__ import annotations

from dataclasses import dataclass, field

from core.auth.permissions import ROLE_PERMISSIONS, Permission, Role


@dataclass(frozen=True)
class Actor:
    """Everything a service needs to know about its caller; built from OIDC claims or by scripts."""

    user_id: int | None
    label: str
    roles: frozenset[str] = field(default_factory=frozenset)
    organization_id: int | None = None
    enterprise_id: int | None = None  # set for enterprise users
    locale: str = "zh_CN"

    @property
    def permissions(self) -> frozenset[Permission]:
        granted: set[Permission] = set()
        for role in self.roles:
            try:
                granted |= ROLE_PERMISSIONS[Role(role)]
            except ValueError:
                continue  # unknown roles grant nothing
        return frozenset(granted)

    def can(self, permission: Permission | str) -> bool:
        return Permission(permission) in self.permissions

    def has_role(self, *roles: Role | str) -> bool:
        return any(str(r) in self.roles for r in roles)


SYSTEM_ACTOR = Actor(user_id=None, label="system", roles=frozenset({Role.system.value}))
