"""Masking of personal data — the one place that decides who sees identity numbers, phones, names, e-mails.

Two layers, both pure (no session, no clock):

* **mask functions** turn one value into its masked form: ``mask_id_number`` (``130102********1234``),
  ``mask_phone`` (``138****5678``), ``mask_name`` (``张*``, ``欧阳**``), ``mask_email``
  (``zh***@example.com``). ``None`` and empty values pass through unchanged.
* **the rule** ``disclosure_for`` picks a ``Disclosure`` level from who is looking and why, and
  ``mask_person`` applies it to one person's fields.

The rule, kept deliberately small:

=====================================================  ================================================
viewer                                                 level
=====================================================  ================================================
the enterprise itself (its own users)                  ``full`` — nothing masked
institution staff with an active grant covering        ``contact`` — name, phone and e-mail shown;
``basic`` (see ``core.services.consent``)              identity numbers masked
a regulator or the operator who states a purpose       ``contact`` (the purpose goes to the access log)
anyone else (regulator without purpose, staff          ``masked`` — everything masked
without a ``basic`` grant, the wall)
=====================================================  ================================================

A full identity number is shown only to the enterprise itself: no business flow of the platform
needs another party to see it (banks verify identity through their own KYC channels).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from enum import StrEnum
from typing import Any

from core.auth.actor import Actor
from core.auth.permissions import Permission

MASK = "*"

# Two-character Chinese surnames (复姓): the whole surname stays visible, as with a single one.
COMPOUND_SURNAMES = frozenset(
    {
        "欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙",
        "宇文", "司徒", "夏侯", "轩辕", "令狐", "钟离", "闻人", "端木", "澹台", "西门",
        "南宫", "呼延", "独孤", "申屠", "太史", "赫连", "万俟", "拓跋", "司空", "百里",
    }
)  # fmt: skip

_CJK = re.compile(r"[\u3400-\u9fff]")


class Disclosure(StrEnum):
    """How much of a person's data one viewer sees."""

    full = "full"  # nothing masked
    contact = "contact"  # names, phones, e-mails shown; identity numbers masked
    masked = "masked"  # everything masked


def mask_id_number(value: str | None) -> str | None:
    """A resident identity number with only the region code and the last four characters kept.

    ``130102199001011234`` → ``130102********1234``; 15-digit numbers keep 6 + 3; anything shorter
    than 10 characters is masked except its last two.
    """
    if not value:
        return value
    text = str(value).strip()
    n = len(text)
    if n >= 16:
        return text[:6] + MASK * (n - 10) + text[-4:]
    if n >= 10:
        return text[:6] + MASK * (n - 9) + text[-3:]
    return MASK * max(n - 2, 1) + text[-2:] if n > 2 else MASK * n


def mask_phone(value: str | None) -> str | None:
    """A phone number with its middle digits hidden: ``13812345678`` → ``138****5678``.

    A ``+86`` prefix and separators are kept as written; landlines (``0318-1234567``) keep the area
    code and the last four digits.
    """
    if not value:
        return value
    text = str(value).strip()
    digit_positions = [i for i, ch in enumerate(text) if ch.isdigit()]
    count = len(digit_positions)
    if count == 0:
        return text
    prefix = 0
    if text.startswith("+86") or (text.startswith("86") and count == 13):
        prefix = 2  # the country code stays visible and does not count as the number
    local = digit_positions[prefix:]
    if len(local) == 11 and text[local[0]] == "1":
        keep_head, keep_tail = 3, 4  # mainland mobile
    elif len(local) >= 10 and text[local[0]] == "0":
        keep_head, keep_tail = (4 if text[local[1]] in "3456789" else 3), 4  # landline with area code
    elif len(local) >= 7:
        keep_head, keep_tail = 0, 4
    else:
        keep_head, keep_tail = 0, min(2, len(local) - 1)
    hidden = set(local[keep_head : len(local) - keep_tail])
    return "".join(MASK if i in hidden else ch for i, ch in enumerate(text))


def mask_name(value: str | None) -> str | None:
    """A personal name with only the surname kept: ``张三`` → ``张*``, ``欧阳娜娜`` → ``欧阳**``.

    Latin-script names keep the first letter of each word: ``John Smith`` → ``J*** S****``.
    """
    if not value:
        return value
    text = str(value).strip()
    if _CJK.search(text):
        compact = text.replace(" ", "").replace("·", "")
        surname = compact[:2] if len(compact) > 2 and compact[:2] in COMPOUND_SURNAMES else compact[:1]
        if len(compact) == 1:
            return MASK
        return surname + MASK * (len(compact) - len(surname))
    return " ".join(word[:1] + MASK * (len(word) - 1) for word in text.split())


def mask_email(value: str | None) -> str | None:
    """An e-mail address with the local part hidden after its first two characters (one if short).

    ``zhangsan@example.com`` → ``zh***@example.com``; a value without ``@`` is masked like a name.
    """
    if not value:
        return value
    text = str(value).strip()
    local, at, domain = text.rpartition("@")
    if not at or not local:
        return mask_name(text)
    keep = 2 if len(local) > 3 else 1
    return local[:keep] + MASK * 3 + "@" + domain


def disclosure_for(
    actor: Actor,
    *,
    enterprise_id: int | None,
    consent_scopes: Collection[str] = (),
    purpose: str | None = None,
) -> Disclosure:
    """The level at which ``actor`` sees the people of enterprise ``enterprise_id`` (see the module table).

    Args:
        actor: who is looking.
        enterprise_id: whose people they are.
        consent_scopes: the scopes of the active consent grants covering the actor's institution
            (the caller has checked them; this function only reads them).
        purpose: the stated purpose of the look-up (regulators see contact details only with one).
    """
    if actor.enterprise_id is not None and enterprise_id is not None and actor.enterprise_id == enterprise_id:
        return Disclosure.full
    if actor.enterprise_id is None and "basic" in consent_scopes:
        return Disclosure.contact
    if actor.can(Permission.oversight) and purpose and purpose.strip():
        return Disclosure.contact
    return Disclosure.masked


def mask_person(
    level: Disclosure | str,
    *,
    name: str | None = None,
    id_number: str | None = None,
    phone: str | None = None,
    email: str | None = None,
) -> dict[str, Any]:
    """One person's fields as ``level`` allows: a dict with keys ``name``, ``id_number``, ``phone``, ``email``."""
    level = Disclosure(level)
    if level is Disclosure.full:
        return {"name": name, "id_number": id_number, "phone": phone, "email": email}
    if level is Disclosure.contact:
        return {"name": name, "id_number": mask_id_number(id_number), "phone": phone, "email": email}
    return {
        "name": mask_name(name),
        "id_number": mask_id_number(id_number),
        "phone": mask_phone(phone),
        "email": mask_email(email),
    }
