"""How verification codes reach people: a ``Notifier`` adapter, with an outbox and an SMTP implementation.

* ``OutboxNotifier`` (development, demos, tests) writes the message as a ``Notification`` row in the
  caller's transaction, so it is sent exactly when the code is stored and never when the use case
  rolls back. A developer reads codes from the ``notification`` table.
* ``SmtpNotifier`` (real use) sends e-mail with ``smtplib``; settings from the environment:
  ``SMTP_HOST``, ``SMTP_PORT`` (default 587), ``SMTP_USER``, ``SMTP_PASSWORD``, ``SMTP_FROM``,
  ``SMTP_STARTTLS`` (default true; port 465 means implicit TLS), ``SMTP_TIMEOUT_SECONDS``.

``notifier_from_environment()`` picks SMTP when ``SMTP_HOST`` is set, else the outbox. Message
bodies are built from the ``sso.`` catalog keys in the recipient's language.
"""

from __future__ import annotations

import os
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import Any, Protocol

from core.i18n import translate


@dataclass(frozen=True)
class OutgoingMessage:
    """One message for one address: what every notifier delivers."""

    channel: str  # "email" or "sms"
    target: str  # address or phone number
    kind: str  # e.g. "verification_code"
    title: str
    body: str
    user_id: int | None = None
    organization_id: int | None = None
    payload: dict[str, Any] | None = None


class Notifier(Protocol):
    """Delivers messages. ``session`` is the caller's open transaction (used by the outbox)."""

    def send(self, message: OutgoingMessage, *, session: Any | None = None) -> None: ...


class OutboxNotifier:
    """Writes each message to the ``notification`` table in the caller's transaction (development)."""

    def send(self, message: OutgoingMessage, *, session: Any | None = None) -> None:
        from core.models import Notification

        if session is None:
            raise ValueError("OutboxNotifier needs the caller's session")
        session.add(
            Notification(
                user_id=message.user_id,
                organization_id=message.organization_id,
                channel=message.channel,
                kind=message.kind,
                title=message.title[:200],
                body=message.body[:2000],
                payload={"target": message.target, **(message.payload or {})},
            )
        )


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to send e-mail; read by ``SmtpSettings.from_environment()``."""

    host: str
    port: int = 587
    user: str | None = None
    password: str | None = None
    sender: str = "noreply@jinfu.example"
    starttls: bool = True
    timeout: float = 15.0

    @classmethod
    def from_environment(cls) -> SmtpSettings:
        port = int(os.environ.get("SMTP_PORT", "587"))
        return cls(
            host=os.environ["SMTP_HOST"],
            port=port,
            user=os.environ.get("SMTP_USER") or None,
            password=os.environ.get("SMTP_PASSWORD") or None,
            sender=os.environ.get("SMTP_FROM", "noreply@jinfu.example"),
            starttls=os.environ.get("SMTP_STARTTLS", "true").lower() in {"1", "true", "yes"} and port != 465,
            timeout=float(os.environ.get("SMTP_TIMEOUT_SECONDS", "15")),
        )


class SmtpNotifier:
    """Sends e-mail through an SMTP server (TLS verified); SMS is not supported by this adapter."""

    def __init__(self, settings: SmtpSettings, *, smtp_factory: Any = None) -> None:
        self.settings = settings
        self._factory = smtp_factory

    def build(self, message: OutgoingMessage) -> EmailMessage:
        email = EmailMessage()
        email["From"] = formataddr((translate("sso.brand", "zh_CN"), self.settings.sender))
        email["To"] = message.target
        email["Subject"] = message.title
        email["Message-ID"] = make_msgid(domain=self.settings.sender.rpartition("@")[2] or None)
        email.set_content(message.body)
        return email

    def send(self, message: OutgoingMessage, *, session: Any | None = None) -> None:
        if message.channel != "email":
            raise ValueError(f"SmtpNotifier cannot send over {message.channel!r}")
        s = self.settings
        context = ssl.create_default_context()
        if self._factory is not None:
            client = self._factory(s.host, s.port, timeout=s.timeout)
        elif s.port == 465:
            client = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=context)
        else:
            client = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
        with client:
            if s.starttls and s.port != 465:
                client.starttls(context=context)
            if s.user:
                client.login(s.user, s.password or "")
            client.send_message(self.build(message))


def notifier_from_environment() -> Notifier:
    """SMTP when ``SMTP_HOST`` is set, else the development outbox."""
    if os.environ.get("SMTP_HOST"):
        return SmtpNotifier(SmtpSettings.from_environment())
    return OutboxNotifier()
