"""Gallring once a day, from the production scheduler and the embedded loop."""

from __future__ import annotations

import logging
from datetime import date

from cases.gallring import GallringReport, gallra
from deadlines.calendar import STOCKHOLM
from service.app import App

log = logging.getLogger(__name__)


class DailyGallring:
    """Runs gallring in the first round of each Swedish calendar day (and at
    start), at most ``per_round`` cases a round so the scheduler's other jobs
    are not held up by a large first run: the next rounds go on until it is
    complete. A failed run is tried again next round; a second scheduler
    doing the same finds nothing left to clear."""

    def __init__(self, per_round: int = 200) -> None:
        self.last_day: date | None = None
        self.per_round = per_round

    def __call__(self, app: App) -> GallringReport | None:
        policy = app.kommun.organisation.gallring
        now = app.clock()
        day = now.astimezone(STOCKHOLM).date()
        if policy is None or self.last_day == day:
            return None
        report = gallra(app.sessions, policy, now, limit=self.per_round)
        if report.complete:
            self.last_day = day
        if report.cleared_anything:
            log.info("gallring cases=%s automatic=%s quarantined=%s waiting=%s",
                     len(report.cases), report.automatic, report.quarantined,
                     len(report.waiting))
        return report
