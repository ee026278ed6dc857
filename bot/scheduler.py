"""One APScheduler per process: a short sweep (expiry, reminders, the outbox) and the status
poll. The work itself is claimed in the database, so any number of replicas may run it."""

from __future__ import annotations

import logging
import time

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.backend.base import BackendError
from bot.invitations.service import Invitations
from bot.services import Services
from bot.sweep import sweep as sweep_once

log = logging.getLogger(__name__)


def create_scheduler(services: Services) -> AsyncIOScheduler:
    invitations = Invitations(services)
    settings = services.settings
    scheduler = AsyncIOScheduler(timezone="UTC")
    poll_every = settings.status_poll_interval.total_seconds()

    async def sweep() -> None:
        services.track()
        try:
            report = await sweep_once(services)
        except Exception:  # keep sweeping: the next run retries what this one left
            log.exception("sweep failed")
            return
        if any(vars(report).values()):
            log.info("sweep: %s", report)

    backoff = {"failures": 0, "until": 0.0}

    async def poll() -> None:
        """Ask the node; when it fails, wait longer each time (up to 30 min), then carry on."""
        services.track()
        if time.monotonic() < backoff["until"]:
            return
        try:
            await invitations.poll_status()
        except BackendError as exc:
            backoff["failures"] += 1
            delay = min(poll_every * 2 ** backoff["failures"], 1800.0)
            backoff["until"] = time.monotonic() + delay
            log.warning("status poll failed (%s); next try in %.0fs", exc, delay)
            return
        except Exception:
            log.exception("status poll failed")
            return
        backoff["failures"], backoff["until"] = 0, 0.0

    common = {"max_instances": 1, "coalesce": True, "misfire_grace_time": None}
    scheduler.add_job(
        sweep, "interval", seconds=settings.sweep_interval.total_seconds(), id="sweep", **common
    )
    scheduler.add_job(
        poll,
        "interval",
        seconds=poll_every,
        id="status_poll",
        **common,
    )
    return scheduler
