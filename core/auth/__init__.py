"""Who is acting and what they may do: actors, roles and permissions."""

from core.auth.actor import SYSTEM_ACTOR, Actor
from core.auth.permissions import PERSON_ROLES, ROLE_PERMISSIONS, Permission, Role

__all__ = ["Actor", "PERSON_ROLES", "Permission", "ROLE_PERMISSIONS", "Role", "SYSTEM_ACTOR"]
