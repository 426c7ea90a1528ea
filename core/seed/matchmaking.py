"""Demo matchmaking rows for each enterprise chunk: dispatched leads and service-hall appointments.

:class:`Matchmaking` is what :func:`core.seed.generator.iter_frames` calls after each chunk: it adds
``lead`` (:mod:`core.seed.leads`) and ``appointment`` (:mod:`core.seed.hall`) frames, the needs'
``dispatch_limit`` and the applications' ``lead_id``, so that the regulator's matchmaking ledger and
the first-loan funnel have content on demo data. Both share one working-day calendar, from the
start of the data window to 120 days after ``as_of``, and draw from their own random streams
(``[seed, 3, chunk]`` and ``[seed, 4, chunk]``), so the rest of the data set is unchanged.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd

from core.seed.hall import HallGenerator
from core.seed.leads import LeadGenerator
from core.seed.workcal import WorkCalendar


class Matchmaking:
    """Leads and appointments for one generator's chunks (keeps the hall's bookings across chunks)."""

    def __init__(self, gen, static: dict[str, pd.DataFrame]) -> None:
        first = gen.window_start_day.astype("datetime64[D]").item() - timedelta(days=120)
        cal = WorkCalendar(first, gen.as_of + timedelta(days=120))
        self.seed = gen.seed
        self.leads = LeadGenerator(gen, static, cal)
        self.hall = HallGenerator(gen, cal)

    def add(self, k: int, frames: dict[str, pd.DataFrame], admin_of: dict) -> None:
        """Add the chunk's ``lead`` and ``appointment`` frames (and link applications to their leads)."""
        self.leads.add(np.random.default_rng([self.seed, 3, k]), frames)
        self.hall.add(np.random.default_rng([self.seed, 4, k]), frames, admin_of)
