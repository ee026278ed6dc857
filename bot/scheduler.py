"""One APScheduler per process: a short sweep (expiry, reminders, the outbox) and the status
poll. The work itself is claimed in the database, so any number of replicas may run it."""

from __future__ import annotations

import logging

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.invitations import Invitations
from bot.services import Services

log = logging.getLogger(__name__)


def create_scheduler(services: Services) -> AsyncIOScheduler:
    invitations = Invitations(services)
    settings = services.settings
    scheduler = AsyncIOScheduler(timezone="UTC")

    async def sweep() -> None:
        services.track()
        try:
            report = await invitations.sweep()
        except Exception:  # keep sweeping: the next run retries what this one left
            log.exception("sweep failed")
            return
        if any(vars(report).values()):
            log.info("sweep: %s", report)

    async def poll() -> None:
        services.track()
        try:
            await invitations.poll_status()
        except Exception:
            log.exception("status poll failed")

    common = {"max_instances": 1, "coalesce": True, "misfire_grace_time": None}
    scheduler.add_job(
        sweep, "interval", seconds=settings.sweep_interval.total_seconds(), id="sweep", **common
    )
    scheduler.add_job(
        poll,
        "interval",
        seconds=settings.status_poll_interval.total_seconds(),
        id="status_poll",
        **common,
    )
    return scheduler
