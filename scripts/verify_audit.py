"""Verify the SHA-256 chain of the audit trail; exit 1 naming the first broken event, 0 when intact."""

from __future__ import annotations

import argparse
import sys

from sqlalchemy.exc import OperationalError

from core.config import get_settings
from core.db import session_scope
from core.services.audit import verify_stored_chain


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", default=None, help="default: DATABASE_URL")
    args = parser.parse_args(argv)
    if args.database_url:
        import os

        os.environ["DATABASE_URL"] = args.database_url
        get_settings.cache_clear()
    try:
        with session_scope() as session:
            checked, broken = verify_stored_chain(session)
    except OperationalError as exc:
        print(f"error: cannot read the audit table: {str(exc.orig).strip().splitlines()[0]}", file=sys.stderr)
        return 2
    if broken is not None:
        print(f"BROKEN: audit event {broken} does not verify ({checked} events before it are intact)")
        return 1
    print(f"OK: {checked} audit events, chain intact")
    return 0


if __name__ == "__main__":
    sys.exit(main())
