"""Publishing the App Home tab: built from a handful of indexed reads, published when opened,
and refreshed (by the sweep) when a connection its viewer sees changes."""

from __future__ import annotations

import logging
from typing import Any

from bot.home.views import IN_FLIGHT, RECENT, build_home_view, rows
from bot.report.report import home_funnel
from bot.services import Services
from bot.slack.errors import SLACK_FAILURES, slack_error
from storage import repo
from storage.db import transaction

log = logging.getLogger(__name__)


class Home:
    def __init__(self, services: Services) -> None:
        self.s = services

    async def view(
        self, *, team_id: str, user_id: str, is_admin: bool, banner: str | None = None
    ) -> dict[str, Any]:
        settings = self.s.settings
        async with self.s.sessions() as session:
            args: dict[str, Any] = {}
            if is_admin:
                pending = await repo.list_connections(
                    session=session, team_id=team_id, statuses=["PENDING"], limit=IN_FLIGHT
                )
                counts = await repo.count_by_status(session=session, team_id=team_id)
                recent = await repo.recently_active(session=session, team_id=team_id, limit=RECENT)
                latest = await repo.latest_invitations(
                    session=session, connection_ids=[c.id or 0 for c in pending]
                )
                asked = await repo.list_connections(
                    session=session, team_id=team_id, statuses=["APPROVAL"], limit=5
                )
                args = {
                    "awaiting_approval": rows(asked, {}),
                    "counts": counts,
                    "in_flight": rows(pending, latest),
                    "more_in_flight": max(counts.get("PENDING", 0) - len(pending), 0),
                    "recent": rows(recent, {}),
                }
            waiting = await repo.waiting_for_partner(
                session=session, team_id=team_id, partner_user_id=user_id, limit=10
            )
        if is_admin:
            args["funnel"] = await home_funnel(self.s, team_id=team_id)
        return build_home_view(
            now=self.s.clock.now(),
            is_admin=is_admin,
            admins=self.s.permissions.who_may_initiate(),
            reminder_max=settings.reminder_max,
            accept_here=self.s.backend.can_redeem,
            waiting=[rows([c], {c.id or 0: i})[0] for c, i in waiting],
            banner=banner,
            **args,
        )

    async def publish(
        self, *, team_id: str, user_id: str, is_admin: bool, banner: str | None = None
    ) -> None:
        view = await self.view(team_id=team_id, user_id=user_id, is_admin=is_admin, banner=banner)
        client = await self.s.slack_client(team_id)
        if client is None:  # the app was removed from that workspace
            return
        await client.views_publish(user_id=user_id, view=view)

    async def opened(self, *, team_id: str, user_id: str, is_admin: bool) -> None:
        async with transaction(self.s.sessions) as session:
            await repo.home_opened(
                session=session,
                team_id=team_id,
                user_id=user_id,
                is_admin=is_admin,
                now=self.s.clock.now(),
            )
        await self.publish(team_id=team_id, user_id=user_id, is_admin=is_admin)

    async def publish_dirty(self, limit: int = 20) -> int:
        """Refresh the Home tabs whose connections changed (claimed, so once per change)."""
        async with transaction(self.s.sessions) as session:
            tabs = await repo.claim_dirty_homes(session=session, limit=limit)
        published = 0
        for tab in tabs:
            try:
                await self.publish(team_id=tab.team_id, user_id=tab.user_id, is_admin=tab.is_admin)
                published += 1
            except SLACK_FAILURES as exc:
                log.warning("Home refresh failed: %s", slack_error(exc))
                async with transaction(self.s.sessions) as session:
                    await repo.mark_home_dirty(
                        session=session, team_id=tab.team_id, user_id=tab.user_id
                    )
        return published
