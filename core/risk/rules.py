"""The early-warning rule library as versioned data: specs, validation, and the shipped version.

A rule-set document (``data/reference/risk_rules/v<N>.json``, or a row of ``risk_rule_set``) is::

    {"set_version": 1, "name": "…", "rules": [
        {"code": "JUD.NEW_CASE_DEFENDANT", "version": 1, "name": "…", "name_en": "…",
         "category": "judicial", "type": "gov_event", "level": 4, "enabled": true, "ttl_days": 180,
         "params": {"kind": "judicial_case", "lookback_days": 90, …}}, …]}

:func:`parse_rule_set` checks the whole document and reports every problem at once (an unknown rule
type, a parameter of the wrong type or out of its declared range, a reference to an unknown field, a
missing or unknown parameter, a duplicate code, a level outside 1–8) in one :class:`RiskRuleSetError`.
Message keys default to ``risk.rule.<CODE>.message`` and ``risk.rule.<CODE>.clear``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from core.errors import InvalidError
from core.i18n import normalize_locale
from core.risk.rule_types import RULE_TYPES, RuleType

__all__ = ["CATEGORIES", "RULE_TYPES", "RiskRuleSet", "RiskRuleSetError", "RiskRuleSpec", "RuleType",
           "load_shipped_rule_set", "parse_rule_set", "rule_set_to_doc", "shipped_versions"]

SHIPPED_DIR = Path(__file__).resolve().parents[2] / "data" / "reference" / "risk_rules"
SHIPPED_VERSION = 2  # the version a new installation publishes first (``v<N>.json``); older files are history
SHIPPED_PATH = SHIPPED_DIR / f"v{SHIPPED_VERSION}.json"
CATEGORIES = ("judicial", "public_credit", "penalty", "market", "ownership", "tax", "social_insurance",
              "housing_fund", "utility", "loan", "credit_demand", "rating", "composite", "graph")
CODE_PATTERN = re.compile(r"^[A-Z]{2,6}(\.[A-Z0-9_]+)+$")
RULE_KEYS = {"code", "version", "name", "name_en", "category", "type", "level", "enabled", "ttl_days", "params",
             "message_key", "clear_key"}
DOC_KEYS = {"set_version", "name", "note", "rules"}


@dataclass(frozen=True)
class RiskRuleSpec:
    """One rule of the library, validated: what it checks (type + params), how loud, and for how long."""

    code: str
    version: int
    name: str
    name_en: str
    category: str
    type: str
    level: int
    enabled: bool
    params: dict[str, Any] = field(hash=False)
    message_key: str
    clear_key: str
    ttl_days: int

    @property
    def rule_type(self) -> RuleType:
        return RULE_TYPES[self.type]


@dataclass(frozen=True)
class RiskRuleSet:
    """A whole version of the library."""

    set_version: int
    rules: tuple[RiskRuleSpec, ...]
    name: str = ""
    note: str = ""

    @cached_property
    def by_code(self) -> dict[str, RiskRuleSpec]:
        return {r.code: r for r in self.rules}


class RiskRuleSetError(InvalidError):
    """A rule-set document is invalid; ``problems`` holds one localized error per problem found."""

    key = "risk.rule.error.invalid_set"

    def __init__(self, problems: list[InvalidError]) -> None:
        self.problems = problems
        self.errors = problems  # the shape of core.errors.ValidationErrors, for form presenters
        super().__init__(count=len(problems))

    def message(self, locale: str | None = None) -> str:
        head = super().message(locale)
        joiner = "; " if normalize_locale(locale) == "en" else "；"
        return head + " " + joiner.join(p.message(locale) for p in self.problems) if self.problems else head

    def messages(self, locale: str | None = None) -> dict[str, str]:
        return {p.field or "_": p.message(locale) for p in self.problems}

    def __str__(self) -> str:
        return "; ".join(f"{p.field}: {p.key} {p.params}" for p in self.problems)


def _bound(v: Any) -> Any:
    """A range bound or value as a reader expects it (``1e12`` as ``1000000000000``, ``5.0`` as ``5``)."""
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def _problem(kind: str, code: str, where: str | None = None, **params: Any) -> InvalidError:
    fld = f"{code}.{where}" if where else code
    if kind == "param_range":
        params = {k: _bound(v) for k, v in params.items()}
        if params.get("max") is None:  # an open range: "at least min"
            kind = "param_min"
    return InvalidError(f"risk.rule.error.{kind}", field=fld, code=code, param=where or "", **params)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _check_params(code: str, rule_type: RuleType, raw: Any, problems: list[InvalidError]) -> dict[str, Any]:
    if not isinstance(raw, dict):
        problems.append(_problem("param_type", code, "params", expected="object"))
        return {}
    for name in raw:
        if name not in rule_type.params:
            problems.append(_problem("unknown_param", code, name, allowed=", ".join(rule_type.params)))
    resolved: dict[str, Any] = {}
    for name, param in rule_type.params.items():
        if name not in raw or raw[name] is None:
            if param.required:
                problems.append(_problem("param_missing", code, name))
            elif param.default is not None:
                resolved[name] = param.default
            continue
        issue = param.check(raw[name])
        if issue:
            problems.append(_problem(issue[0], code, name, **issue[1]))
        else:
            resolved[name] = raw[name]
    if rule_type.cross_check:
        for name, kind, extra in rule_type.cross_check(raw):
            problems.append(_problem(kind, code, name, **extra))
    return resolved


def parse_rule_set(doc: dict) -> RiskRuleSet:
    """Validate a rule-set document and build the :class:`RiskRuleSet`.

    Args:
        doc: the parsed JSON document (see the module docstring); JSON text is accepted too.

    Raises:
        RiskRuleSetError: with every problem found, each naming the rule code and the parameter.
    """
    if isinstance(doc, str | bytes):
        try:
            doc = json.loads(doc)
        except json.JSONDecodeError as exc:
            raise RiskRuleSetError([_problem("bad_document", "-", None, reason=exc.msg)]) from exc
    problems: list[InvalidError] = []
    if not isinstance(doc, dict) or not isinstance(doc.get("rules"), list) or not doc["rules"]:
        raise RiskRuleSetError([_problem("bad_document", "-", None, reason="rules")])
    for key in sorted(set(doc) - DOC_KEYS):
        problems.append(_problem("unknown_key", "-", key))
    set_version = doc.get("set_version")
    if not _is_int(set_version) or set_version < 1:
        problems.append(_problem("bad_document", "-", "set_version", reason="set_version"))
    specs: list[RiskRuleSpec] = []
    seen: set[str] = set()
    for i, raw in enumerate(doc["rules"]):
        if not isinstance(raw, dict):
            problems.append(_problem("bad_document", f"#{i + 1}", None, reason="rule"))
            continue
        code = raw.get("code")
        if not isinstance(code, str) or not CODE_PATTERN.match(code) or len(code) > 40:
            problems.append(_problem("bad_code", str(code if code is not None else f"#{i + 1}"), "code"))
            code = str(code if code is not None else f"#{i + 1}")
        elif code in seen:
            problems.append(_problem("duplicate_code", code, "code"))
        seen.add(code)
        n_before = len(problems)
        for key in sorted(set(raw) - RULE_KEYS):
            problems.append(_problem("unknown_key", code, key))
        level = raw.get("level")
        if not _is_int(level) or not 1 <= level <= 8:
            problems.append(_problem("level_range", code, "level", value=level))
        version = raw.get("version", 1)
        if not _is_int(version) or version < 1:
            problems.append(_problem("param_range", code, "version", value=version, min=1, max=None))
        ttl = raw.get("ttl_days", 180)
        if not _is_int(ttl) or not 1 <= ttl <= 3650:
            problems.append(_problem("param_range", code, "ttl_days", value=ttl, min=1, max=3650))
        category = raw.get("category")
        if category not in CATEGORIES:
            problems.append(_problem("param_choice", code, "category", value=category, allowed=", ".join(CATEGORIES)))
        for key in ("name", "name_en"):
            if not isinstance(raw.get(key), str) or not raw[key].strip():
                problems.append(_problem("param_missing", code, key))
        if not isinstance(raw.get("enabled", True), bool):
            problems.append(_problem("param_type", code, "enabled", expected="bool"))
        rule_type = RULE_TYPES.get(raw.get("type"))
        if rule_type is None:
            problems.append(_problem("unknown_type", code, "type", value=raw.get("type"),
                                     allowed=", ".join(sorted(RULE_TYPES))))
            continue
        params = _check_params(code, rule_type, raw.get("params", {}), problems)
        if len(problems) > n_before:
            continue
        specs.append(RiskRuleSpec(
            code=code, version=version, name=raw["name"].strip(), name_en=raw["name_en"].strip(),
            category=category, type=rule_type.name, level=level, enabled=raw.get("enabled", True), params=params,
            message_key=raw.get("message_key") or f"risk.rule.{code}.message",
            clear_key=raw.get("clear_key") or f"risk.rule.{code}.clear", ttl_days=ttl,
        ))
    if problems:
        raise RiskRuleSetError(problems)
    return RiskRuleSet(set_version=set_version, rules=tuple(specs), name=str(doc.get("name", "")),
                       note=str(doc.get("note", "")))


def rule_set_to_doc(rule_set: RiskRuleSet) -> dict:
    """The document form of a rule set (what :func:`parse_rule_set` reads back to an equal set).

    Args:
        rule_set: a parsed rule set.
    """
    rules = []
    for r in rule_set.rules:
        item = {"code": r.code, "version": r.version, "name": r.name, "name_en": r.name_en, "category": r.category,
                "type": r.type, "level": r.level, "enabled": r.enabled, "ttl_days": r.ttl_days,
                "params": dict(r.params)}
        if r.message_key != f"risk.rule.{r.code}.message":
            item["message_key"] = r.message_key
        if r.clear_key != f"risk.rule.{r.code}.clear":
            item["clear_key"] = r.clear_key
        rules.append(item)
    doc: dict[str, Any] = {"set_version": rule_set.set_version, "name": rule_set.name}
    if rule_set.note:
        doc["note"] = rule_set.note
    doc["rules"] = rules
    return doc


def shipped_versions() -> list[int]:
    """The versions shipped as ``data/reference/risk_rules/v<N>.json``, ascending."""
    found = (re.fullmatch(r"v(\d+)\.json", f.name) for f in SHIPPED_DIR.glob("v*.json"))
    return sorted(int(m.group(1)) for m in found if m)


def load_shipped_rule_set(version: int | None = None) -> dict:
    """A shipped library document, parsed JSON, not validated.

    Args:
        version: which ``v<N>.json``; None for :data:`SHIPPED_VERSION`, the one a new installation publishes.

    Raises:
        FileNotFoundError: no such shipped version.
    """
    path = SHIPPED_PATH if version is None else SHIPPED_DIR / f"v{int(version)}.json"
    return json.loads(path.read_text(encoding="utf-8"))
