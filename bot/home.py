"""The App Home tab: one view per person, by role.

Admins see counts by state, the invitations in flight with their buttons, the connections
that turned active last, and a button that starts the wizard. Partners see what waits for
them. Anyone else learns what the bot is and who its admins are. Built from a handful of
indexed queries, so it stays fast and inside Slack's 100 blocks with any number of
connections.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import col, select

from bot.invitations import messages as m
from bot.invitations.policy import waited
from bot.services import Services
from bot.slack.errors import SLACK_FAILURES, slack_error
from bot.slack.text import escape, slack_date
from storage import repo
from storage.db import claim, transaction
from storage.models import Connection, HomeTab, Invitation

log = logging.getLogger(__name__)

CONNECT_ACTION = "home_connect"
REMIND_ACTION = "home_remind"
IN_FLIGHT = 15  # two blocks each
RECENT = 5
STATES = ("PENDING", "ACTIVE", "EXPIRED", "DECLINED", "CANCELLED", "DEACTIVATED", "REMOVED")


@dataclass(frozen=True)
class Row:
    """One connection as people see it in lists."""

    id: int
    name: str
    status: str
    partner: str
    initiator: str
    created_at: datetime
    reminders_sent: int = 0
    next_reminder_at: datetime | None = None
    activated_at: datetime | None = None
    invitation_id: int | None = None


def rows(connections: list[Connection], invitations: dict[int, Invitation]) -> list[Row]:
    result = []
    for c in connections:
        invitation = invitations.get(c.id or 0)
        result.append(
            Row(
                id=c.id or 0,
                name=c.name,
                status=str(c.status),
                partner=c.partner_user_id,
                initiator=c.initiator_user_id,
                created_at=c.created_at,
                reminders_sent=invitation.reminders_sent if invitation else 0,
                next_reminder_at=invitation.next_reminder_at if invitation else None,
                activated_at=c.activated_at,
                invitation_id=invitation.id if invitation else None,
            )
        )
    return result


def when(moment: datetime | None, fallback: str = "—") -> str:
    return slack_date(moment) if moment is not None else fallback


def describe(row: Row, now: datetime, *, reminder_max: int) -> str:
    """`name` · PENDING · @partner · 3 days old · 2 of 5 reminders · next Tue 09:00."""
    parts = [
        f"*`{escape(row.name)}`*",
        row.status.lower(),
        f"<@{row.partner}>",
        f"{waited(row.created_at, now)} old",
    ]
    if row.status == "PENDING":
        parts.append(f"{row.reminders_sent} of {reminder_max} reminders")
        parts.append(f"next reminder {when(row.next_reminder_at, 'none')}")
    if row.activated_at and row.status == "ACTIVE":
        parts.append(f"active since {when(row.activated_at)}")
    return " · ".join(parts)


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}


def _header(text: str) -> dict[str, Any]:
    return {"type": "header", "text": {"type": "plain_text", "text": text[:150]}}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text[:3000]}]}


def build_home_view(
    *,
    now: datetime,
    is_admin: bool,
    admins: str,
    reminder_max: int,
    accept_here: bool,
    counts: dict[str, int] | None = None,
    in_flight: list[Row] | None = None,
    more_in_flight: int = 0,
    recent: list[Row] | None = None,
    waiting: list[Row] | None = None,
    banner: str | None = None,
) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = [_header("Exalate connections")]
    if banner:
        blocks.append(_section(banner))
    if is_admin:
        blocks += _admin_blocks(
            now, counts or {}, in_flight or [], more_in_flight, recent or [], reminder_max
        )
    if waiting:
        blocks += [{"type": "divider"}, _header("Invitations waiting for you")]
        for row in waiting:
            blocks.append(
                _section(
                    f"<@{row.initiator}> invites you to `{escape(row.name)}` "
                    f"({waited(row.created_at, now)} ago). The code is in our DM."
                )
            )
            blocks.append(m.partner_actions(row.invitation_id or 0, accept_here=accept_here))
    if not is_admin and not waiting:
        blocks.append(
            _section(
                "I connect your company's issue tracker with partners' through *Exalate*: "
                "admins start a connection with `/exalate connect`, I deliver the invitation "
                "code to the partner and follow up until they accept.\n"
                f"Exalate admins here: {admins}."
            )
        )
    return {"type": "home", "blocks": blocks[:100]}


def _admin_blocks(
    now: datetime,
    counts: dict[str, int],
    in_flight: list[Row],
    more: int,
    recent: list[Row],
    reminder_max: int,
) -> list[dict[str, Any]]:
    tally = " · ".join(f"*{state.title()}* {counts.get(state, 0):,}" for state in STATES)
    blocks: list[dict[str, Any]] = [
        _section(tally),
        {
            "type": "actions",
            "block_id": "home_admin",
            "elements": [
                {
                    "type": "button",
                    "action_id": CONNECT_ACTION,
                    "style": "primary",
                    "text": {"type": "plain_text", "text": "New connection"},
                    "value": "connect",
                }
            ],
        },
        {"type": "divider"},
        _header("Waiting for partners"),
    ]
    if not in_flight:
        blocks.append(_context("No invitation is waiting for a partner."))
    for row in in_flight:
        blocks.append(_section(describe(row, now, reminder_max=reminder_max)))
        actions = m.admin_actions(row.id, invitation_id=row.invitation_id)
        actions["elements"].insert(
            0,
            {
                "type": "button",
                "action_id": REMIND_ACTION,
                "text": {"type": "plain_text", "text": "Remind now"},
                "value": str(row.id),
            },
        )
        blocks.append(actions)
    if more:
        blocks.append(_context(f"…and {more:,} more: `/exalate list pending`."))
    blocks += [{"type": "divider"}, _header("Recently active")]
    if not recent:
        blocks.append(_context("No connection has turned active yet."))
    else:
        lines = [
            f"• `{escape(r.name)}` with <@{r.partner}>, {when(r.activated_at)}" for r in recent
        ]
        blocks.append(_section("\n".join(lines)))
    return blocks


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
                args = {
                    "counts": counts,
                    "in_flight": rows(pending, latest),
                    "more_in_flight": max(counts.get("PENDING", 0) - len(pending), 0),
                    "recent": rows(recent, {}),
                }
            waiting = await repo.waiting_for_partner(
                session=session, team_id=team_id, partner_user_id=user_id, limit=10
            )
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
        client = self.s.slack_client(team_id)
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
        due = select(HomeTab).where(col(HomeTab.dirty).is_(True)).limit(limit)
        async with transaction(self.s.sessions) as session:
            tabs = await claim(
                session,
                due,
                lambda tab: (
                    update(HomeTab)
                    .where(
                        col(HomeTab.team_id) == tab.team_id,
                        col(HomeTab.user_id) == tab.user_id,
                        col(HomeTab.dirty).is_(True),
                    )
                    .values(dirty=False)
                ),
            )
        published = 0
        for tab in tabs:
            try:
                await self.publish(team_id=tab.team_id, user_id=tab.user_id, is_admin=tab.is_admin)
                published += 1
            except SLACK_FAILURES as exc:
                log.warning("Home refresh failed: %s", slack_error(exc))
                async with transaction(self.s.sessions) as session:
                    await session.exec(  # type: ignore[call-overload]
                        update(HomeTab)
                        .where(col(HomeTab.team_id) == tab.team_id)
                        .where(col(HomeTab.user_id) == tab.user_id)
                        .values(dirty=True)
                    )
        return published
