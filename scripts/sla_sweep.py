"""The periodic lead SLA sweep: expired leads are escalated to their bank's managers and the need is
re-dispatched to the next eligible institution; responded leads past their decision deadline are
escalated once. Safe to run as often as wanted (a second run at the same time changes nothing).

    .venv/bin/python scripts/sla_sweep.py [--json] [--now 2026-10-10T09:00:00+08:00]

Schedule it every few minutes (cron, a Kubernetes CronJob). ``--now`` replays a sweep at a given
time (an aware ISO timestamp). ``--json`` prints one JSON object as the last line of stdout.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.auth import SYSTEM_ACTOR  # noqa: E402
from core.errors import JinfuError  # noqa: E402
from core.services.lead_sweep import sweep_leads  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    parser.add_argument("--now", help="sweep as of this aware ISO timestamp (default: now)")
    args = parser.parse_args(argv)
    now = datetime.fromisoformat(args.now) if args.now else None
    if now is not None and now.tzinfo is None:
        parser.error("--now needs a time zone, e.g. 2026-10-10T09:00:00+08:00")
    try:
        result = sweep_leads(actor=SYSTEM_ACTOR, now=now)
    except JinfuError as exc:
        sys.stderr.write(exc.message("en") + "\n")
        return 1
    summary = result.as_dict()
    if args.json:
        sys.stdout.write(json.dumps(summary, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(
            f"expired {summary['expired']}, escalated {summary['escalated']}, re-dispatched "
            f"{summary['redispatched']}, late decisions escalated {summary['decision_escalated']}\n"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
