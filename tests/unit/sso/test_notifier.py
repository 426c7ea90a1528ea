"""Notifiers: the SMTP adapter speaks STARTTLS and login to the server it is given; settings from env."""

from __future__ import annotations

import pytest

from core.auth.notifier import (
    OutboxNotifier,
    OutgoingMessage,
    SmtpNotifier,
    SmtpSettings,
    notifier_from_environment,
)

MESSAGE = OutgoingMessage(
    channel="email",
    target="a@example.cn",
    kind="verification_signup",
    title="验证码",
    body="您的验证码为 123456",
)


class FakeSmtp:
    instances: list[FakeSmtp] = []

    def __init__(self, host, port, timeout):
        self.calls = [("connect", host, port)]
        FakeSmtp.instances.append(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.calls.append(("quit",))

    def starttls(self, context):
        self.calls.append(("starttls",))

    def login(self, user, password):
        self.calls.append(("login", user, password))

    def send_message(self, message):
        self.calls.append(("send", message["To"], message["Subject"], message.get_content().strip()))


def test_smtp_notifier_uses_starttls_login_and_sends(monkeypatch):
    monkeypatch.setenv("SMTP_HOST", "smtp.example.cn")
    monkeypatch.setenv("SMTP_USER", "jinfu")
    monkeypatch.setenv("SMTP_PASSWORD", "pw")
    monkeypatch.setenv("SMTP_FROM", "noreply@example.cn")
    settings = SmtpSettings.from_environment()
    assert (settings.port, settings.starttls) == (587, True)
    SmtpNotifier(settings, smtp_factory=FakeSmtp).send(MESSAGE)
    calls = FakeSmtp.instances[-1].calls
    assert calls[0] == ("connect", "smtp.example.cn", 587)
    assert ("starttls",) in calls and ("login", "jinfu", "pw") in calls
    assert ("send", "a@example.cn", "验证码", "您的验证码为 123456") in calls
    assert isinstance(notifier_from_environment(), SmtpNotifier)


def test_outbox_is_the_default_and_needs_the_callers_session(monkeypatch):
    monkeypatch.delenv("SMTP_HOST", raising=False)
    notifier = notifier_from_environment()
    assert isinstance(notifier, OutboxNotifier)
    with pytest.raises(ValueError):
        notifier.send(MESSAGE)


def test_smtp_refuses_sms():
    with pytest.raises(ValueError):
        SmtpNotifier(SmtpSettings(host="h"), smtp_factory=FakeSmtp).send(
            OutgoingMessage(channel="sms", target="13800000000", kind="k", title="t", body="b")
        )
