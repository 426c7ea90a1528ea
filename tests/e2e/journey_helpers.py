"""Helpers for the browser journeys: waiting on the database, driving Streamlit widgets by key, reading a
``st.dataframe`` through its accessible table, and read-only access to the served e2e database. Widgets are
found by key in the latest run: during a rerun an element that moved lingers as a stale copy."""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal

from sqlalchemy import create_engine, text

STALE = ":not([data-stale='true'])"  # while a rerun moves or replaces an element, the old one lingers, so marked


def live(key: str) -> str:
    """CSS for the element of widget or container ``key`` as the latest run drew it (not its stale copy)."""
    return f".st-key-{key}{STALE}"


def poll(check: Callable[[], object], what: str, timeout: float = 60.0):
    """Poll ``check`` until it returns something truthy (the database after a click); fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.25)


def healthy(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0
    assert "Traceback" not in page.content()


def fits_phone(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def press(page, key: str) -> None:
    page.locator(f"{live(key)} button").first.click()


def type_into(page, key: str, value: object) -> None:
    """Fill a Streamlit text, number or text-area input and commit it, as a person would."""
    box = page.locator(f"{live(key)} input, {live(key)} textarea").first
    box.fill(str(value))
    box.press("Control+Enter" if box.evaluate("e => e.tagName") == "TEXTAREA" else "Enter")


def pick(page, key: str, label_part: str) -> None:
    """Choose the option of selectbox ``key`` whose label contains ``label_part``."""
    page.locator(f"{live(key)} input").first.click()  # the combobox opens its list
    page.locator("[role='option']", has_text=label_part).first.click()
    poll(lambda: label_part in shown(page, key), f"{label_part!r} chosen in {key}", 20)


def shown(page, key: str) -> str:
    """What selectbox ``key`` shows (its text, or the value of its search input)."""
    widget = page.locator(live(key)).first
    inputs = widget.locator("input")
    return widget.inner_text() + " ".join(inputs.nth(i).input_value() for i in range(inputs.count()))


def grid_rows(grid) -> list[dict[str, str]]:
    """The rows a ``st.dataframe`` shows, read from its accessible table (header text → cell text)."""
    headers = grid.locator("th[role='columnheader']").all_inner_texts()
    rows = grid.locator("tbody tr[role='row']")
    return [dict(zip(headers, rows.nth(i).locator("td").all_inner_texts(), strict=True))
            for i in range(rows.count())]


def money_cell(cell: str) -> Decimal:
    """A money cell of the accessible table (the raw number, e.g. ``12392.3``) as cents."""
    return Decimal(cell.replace(",", "")).quantize(Decimal("0.01"))


class Db:
    """Read-only access to the served e2e database."""

    def __init__(self, url: str) -> None:
        self.engine = create_engine(url)

    def one(self, sql: str, **params):
        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).mappings().first()

    def all(self, sql: str, **params):
        with self.engine.connect() as conn:
            return list(conn.execute(text(sql), params).mappings())

    def value(self, sql: str, **params):
        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()


def fresh_totp_step(db: Db, subject: str) -> None:
    """Wait until the current TOTP step is newer than the last one this user spent (replays are refused)."""
    last = db.value(
        "SELECT c.totp_last_step FROM credential c JOIN user_account u ON u.id = c.user_id WHERE u.subject = :s",
        s=subject,
    )
    while last is not None and int(time.time()) // 30 <= int(last):
        time.sleep(0.5)
