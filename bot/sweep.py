"""The sweep, over every feature: an invitation's expiry, reminders and the outbox
(bot/invitations/sweep.py), then the housekeeping beyond invitations: idempotency keys and
abandoned wizards forgotten, and the Home tabs marked dirty published again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from bot.approvals.flow import Approvals
from bot.home.flow import Home
from bot.idempotency import Once
from bot.invitations.service import Invitations
from bot.invitations.sweep import Swept
from bot.services import Services
from storage import repo
from storage.db import one_statement

DRAFT_MAX_AGE = timedelta(days=1)  # an unfinished wizard is forgotten after a day


@dataclass(frozen=True)
class SweepReport(Swept):
    """What the invitations' sweep did, and how many Home tabs were published again."""

    homes: int = 0


async def sweep(services: Services, *, budget: float = 30.0) -> SweepReport:
    """Expire, remind, escalate and send (batch after batch while `budget` seconds last),
    then purge what is old and publish the Homes that changed."""
    await Approvals(services).expire_due()  # its messages go with the invitations' below
    swept = await Invitations(services).sweep_invitations(budget=budget)
    await Once(services).purge()
    await purge_drafts(services)
    if services.settings.oauth:
        await purge_oauth_states(services)
    homes = await Home(services).publish_dirty()
    return SweepReport(**vars(swept), homes=homes)


async def purge_drafts(services: Services) -> int:
    """Forget wizards abandoned for a day (a modal that was closed without Slack telling us,
    or never submitted)."""
    async with one_statement(services.sessions) as session:
        return await repo.purge_drafts(
            session=session, older_than=services.clock.now() - DRAFT_MAX_AGE
        )


async def purge_oauth_states(services: Services) -> int:
    """Forget the install links' states past their deadline (an install started, never
    finished): slack_sdk's state store consumes them, but never deletes an expired one."""
    async with one_statement(services.sessions) as session:
        return await repo.purge_oauth_states(session=session, now=services.clock.now())
