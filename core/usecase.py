"""``@use_case``: check the actor, open the unit of work, audit, commit or roll back — once, for every service.

A decorated service is written as ``def do_thing(uow, *, actor, ...)`` and called as
``do_thing(actor=..., ...)``: the decorator supplies ``uow`` (the open session plus ``uow.audit``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar

from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session

from core import cache
from core.auth import Actor, Permission
from core.db import check_schema, session_scope
from core.errors import ConflictError, ForbiddenError, StaleVersionError
from core.services.audit import append_audit

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True)
class UseCaseInfo:
    """What the registry knows of one service: its name, required permission and whether it writes."""

    name: str  # "core.services.products.list_products"
    permission: str | None
    write: bool
    function: Callable[..., Any]


# Every @use_case service, by dotted name: the permission matrix test walks it, so a new service
# without a rule in that matrix fails the suite.
REGISTRY: dict[str, UseCaseInfo] = {}


@dataclass
class UnitOfWork:
    """What a use case works with: the session of its one transaction, its actor, and its audit trail."""

    session: Session
    actor: Actor
    audited: list[str] = field(default_factory=list)

    def audit(
        self,
        action: str,
        *,
        entity_type: str | None = None,
        entity_id: Any = None,
        before: Any = None,
        after: Any = None,
    ) -> None:
        append_audit(
            self.session,
            actor=self.actor,
            action=action,
            entity_type=entity_type,
            entity_id=entity_id,
            before=before,
            after=after,
        )
        self.audited.append(action)


def use_case(
    permission: Permission | str | None = None, *, write: bool = False, action: str | None = None
) -> Callable[[Callable[..., R]], Callable[..., R]]:
    """Wrap a service: refuse a caller without ``permission``; run it in one transaction.

    Args:
        permission: the permission the actor must hold (None: any signed-in actor).
        write: a writing use case; if it recorded no audit event itself, one named ``action`` is added.
        action: the audit action name (defaults to the function name).
    """

    def decorate(fn: Callable[..., R]) -> Callable[..., R]:
        action_name = action or fn.__name__

        @functools.wraps(fn)
        def wrapper(*, actor: Actor, **kwargs: Any) -> R:
            if not isinstance(actor, Actor):
                raise ForbiddenError("error.no_actor")
            if permission is not None and not actor.can(permission):
                raise ForbiddenError("error.forbidden_action", action=action_name)
            try:
                with session_scope() as session:
                    uow = UnitOfWork(session=session, actor=actor)
                    result = fn(uow, actor=actor, **kwargs)
                    if write and not uow.audited:
                        uow.audit(action_name, after=_summary(kwargs))
                    session.flush()
            except StaleDataError as exc:
                raise StaleVersionError() from exc
            except IntegrityError as exc:
                raise ConflictError("error.integrity", detail=str(exc.orig).splitlines()[0][:200]) from exc
            except (OperationalError, ProgrammingError):
                # A missing table or an unreachable server: tell the user what to run, not a traceback.
                check_schema()  # raises DatabaseNotReadyError naming the fix
                raise
            if write:
                try:
                    cache.bump_data_version()
                except Exception:  # noqa: BLE001 - the write is committed; stale reads expire by TTL
                    pass
            return result

        wrapper.permission = permission  # type: ignore[attr-defined]
        wrapper.is_write = write  # type: ignore[attr-defined]
        name = f"{fn.__module__}.{fn.__qualname__}"
        REGISTRY[name] = UseCaseInfo(
            name=name, permission=None if permission is None else str(permission), write=write, function=wrapper
        )
        return wrapper

    return decorate


def _summary(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Keyword arguments as a JSON-safe audit payload."""
    return {k: (v if isinstance(v, str | int | float | bool | None) else str(v)) for k, v in kwargs.items()}


def expect_version(row: Any, version: int | None) -> None:
    """Refuse a write based on a stale read: the form showed ``version`` but the row has moved on.

    The version column's ``WHERE version = …`` on UPDATE closes the remaining window between this
    check and the flush; both paths raise StaleVersionError.
    """
    if version is not None and getattr(row, "version", None) != version:
        raise StaleVersionError()
