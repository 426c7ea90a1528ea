"""The application lifecycle as data: every allowed transition, who may make it, in one table.

    submitted → accepted (officer assigned) → due_diligence → approved | rejected
    submitted | accepted | due_diligence → withdrawn (the enterprise)
    approved → contract_signed → disbursed → repaying → settled
    disbursed | repaying → overdue → repaying (cured) | defaulted → written_off

Maker-checker: in due diligence an officer *proposes* approval or rejection (recorded on the
application, the status does not move); a manager *decides* — ``approve`` and ``reject`` need a
proposal and a decider who is not its proposer (checked by the service, which knows the people).
Pure: statuses and action names in, the next status or a refusal out.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.enums import ApplicationStatus as S


class IllegalTransitionError(ValueError):
    """The action is not allowed from the current status, or not by this kind of actor."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


@dataclass(frozen=True)
class Transition:
    """One action: the statuses it may start from, where it leads, and who may take it."""

    action: str
    sources: frozenset[S]
    target: S | None  # None: the status does not move (a proposal)
    by: frozenset[str]  # enterprise, officer, manager, system


def _t(action: str, sources, target, *by: str) -> Transition:
    return Transition(action, frozenset(sources), target, frozenset(by))


TRANSITIONS: dict[str, Transition] = {
    t.action: t
    for t in (
        _t("accept", {S.submitted}, S.accepted, "officer", "manager"),
        _t("start_due_diligence", {S.accepted}, S.due_diligence, "officer", "manager"),
        _t("propose", {S.due_diligence}, None, "officer", "manager"),
        _t("approve", {S.due_diligence}, S.approved, "manager"),
        _t("reject", {S.submitted, S.accepted, S.due_diligence}, S.rejected, "manager"),
        _t("withdraw", {S.submitted, S.accepted, S.due_diligence}, S.withdrawn, "enterprise"),
        _t("sign_contract", {S.approved}, S.contract_signed, "officer", "manager"),
        _t("disburse", {S.contract_signed}, S.disbursed, "officer", "manager"),
        _t("start_repaying", {S.disbursed}, S.repaying, "system", "officer", "manager"),
        _t("mark_overdue", {S.disbursed, S.repaying}, S.overdue, "system"),
        _t("cure", {S.overdue}, S.repaying, "system", "officer", "manager"),
        _t("settle", {S.disbursed, S.repaying, S.overdue}, S.settled, "system", "officer", "manager"),
        _t("default", {S.overdue}, S.defaulted, "system", "manager"),
        _t("write_off", {S.defaulted}, S.written_off, "manager"),
    )
}

OPEN_STATUSES = frozenset({S.submitted, S.accepted, S.due_diligence})
TERMINAL_STATUSES = frozenset({S.rejected, S.withdrawn, S.settled, S.written_off})


def next_status(current: S | str, action: str, actor_kind: str) -> S:
    """The status after ``action`` from ``current`` by an actor of ``actor_kind``.

    Returns ``current`` for an action that records without moving (``propose``).

    Raises:
        IllegalTransitionError: unknown action, wrong source status or wrong kind of actor.
    """
    current = S(current)
    rule = TRANSITIONS.get(action)
    if rule is None:
        raise IllegalTransitionError("error.application.unknown_action", action=action)
    if current not in rule.sources:
        raise IllegalTransitionError("error.application.illegal_transition", action=action, status=current.value)
    if actor_kind not in rule.by:
        raise IllegalTransitionError("error.application.wrong_actor", action=action, actor=actor_kind)
    return rule.target or current


def actions_from(current: S | str, actor_kind: str) -> list[str]:
    """The actions an actor of ``actor_kind`` may take from ``current`` (for buttons on a page)."""
    current = S(current)
    return [a for a, t in TRANSITIONS.items() if current in t.sources and actor_kind in t.by]
