"""The App Home view, one per person, by role, and the rows that lists show.

Admins see counts by state, the invitations in flight with their buttons, the connections
that turned active last, a button that starts the wizard, and last the invitation funnel
(bot/report/). Partners see what waits for
them. Anyone else learns what the bot is and who its admins are. Built from a handful of
indexed queries (flow.py), so it stays fast and inside Slack's 100 blocks with any number of
connections.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.home import texts
from bot.home.ids import HomeId
from bot.invitations import messages as m
from bot.invitations.followups import STATE_SHOWN, partner_time
from bot.invitations.people import admin_for_partner, partner_for_admin
from bot.invitations.policy import waited
from bot.report.views import funnel_blocks
from bot.slack.blocks import Block, actions, button, context, header, section
from bot.slack.text import escape, slack_date
from storage.models import Connection, Invitation
from storage.repo.funnel import FunnelFigures

IN_FLIGHT = 15  # two blocks each
RECENT = 5
STATES = (
    "APPROVAL",
    "PENDING",
    "ACTIVE",
    "EXPIRED",
    "DECLINED",
    "REJECTED",
    "CANCELLED",
    "DEACTIVATED",
    "REMOVED",
)


@dataclass(frozen=True)
class Row:
    """One connection as people see it in lists."""

    id: int
    name: str
    status: str
    partner: str  # as the admin's workspace shows them (bot/invitations/people.py)
    initiator: str  # their user id (in the admin's workspace)
    created_at: datetime
    reminders_sent: int = 0
    next_reminder_at: datetime | None = None
    activated_at: datetime | None = None
    invitation_id: int | None = None
    invited_by: str = ""  # the initiator, as the partner's workspace shows them
    partner_tz: str | None = None


def divider() -> Block:
    return {"type": "divider"}


def rows(connections: list[Connection], invitations: dict[int, Invitation]) -> list[Row]:
    result = []
    for c in connections:
        invitation = invitations.get(c.id or 0)
        result.append(
            Row(
                id=c.id or 0,
                name=c.name,
                status=str(c.status),
                partner=partner_for_admin(c),
                initiator=c.initiator_user_id,
                invited_by=admin_for_partner(c),
                created_at=c.created_at,
                reminders_sent=invitation.reminders_sent if invitation else 0,
                next_reminder_at=invitation.next_reminder_at if invitation else None,
                activated_at=c.activated_at,
                invitation_id=invitation.id if invitation else None,
                partner_tz=invitation.partner_tz if invitation else None,
            )
        )
    return result


def when(moment: datetime | None, fallback: str = "—") -> str:
    return slack_date(moment) if moment is not None else fallback


def describe(row: Row, now: datetime, *, reminder_max: int) -> str:
    """`name` · Pending: waiting for the partner · @partner · 3 days old · 2 of 5 reminders ·
    next Tue 1 Dec, 09:00 (America/New_York): the state and the next reminder as the
    connection's card in the channel says them (bot/invitations/followups.py)."""
    state = row.status
    if state == "PENDING" and row.invitation_id is None:
        state = "PENDING_IN_CONSOLE"
    parts = [
        f"*`{escape(row.name)}`*",
        STATE_SHOWN.get(state, state.title()),
        row.partner,
        f"{waited(row.created_at, now)} old",
    ]
    if row.status == "PENDING" and row.invitation_id is None:
        parts.append("no invitation code: accepted on the destination")
    elif row.status == "PENDING":
        parts.append(f"{row.reminders_sent} of {reminder_max} reminders")
        upcoming = row.next_reminder_at
        shown = partner_time(upcoming, row.partner_tz) if upcoming else "none"
        parts.append(f"next reminder {shown}, the partner's time")
    if row.activated_at and row.status == "ACTIVE":
        parts.append(f"active since {when(row.activated_at)}")
    return " · ".join(parts)


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
    funnel: list[FunnelFigures] | None = None,
    awaiting_approval: list[Row] | None = None,
) -> dict[str, Any]:
    blocks: list[Block] = [header(texts.TITLE)]
    if banner:
        blocks.append(section(banner))
    if is_admin:
        blocks += _admin_blocks(
            now, counts or {}, in_flight or [], more_in_flight, recent or [], reminder_max
        )
    if is_admin and awaiting_approval:  # EXALATE_APPROVERS: decided in the approvers' DMs
        blocks += [divider(), header(texts.AWAITING_APPROVAL)]
        lines = [
            texts.awaiting(escape(r.name), r.partner, r.initiator, waited(r.created_at, now))
            for r in awaiting_approval
        ]
        blocks += [section("\n".join(lines)), context(texts.APPROVERS_DECIDE)]
    if waiting:
        blocks += [divider(), header(texts.WAITING_FOR_YOU)]
        for row in waiting:
            ago = waited(row.created_at, now)
            blocks.append(section(texts.invites_you(row.invited_by, escape(row.name), ago)))
            blocks.append(m.partner_actions(row.invitation_id or 0, accept_here=accept_here))
    if not is_admin and not waiting:
        blocks.append(section(texts.about(admins)))
    if is_admin and funnel:
        blocks += [divider(), *funnel_blocks(funnel, now=funnel[0].now)]  # as of its reading
    return {"type": "home", "blocks": blocks[:100]}


def _admin_blocks(
    now: datetime,
    counts: dict[str, int],
    in_flight: list[Row],
    more: int,
    recent: list[Row],
    reminder_max: int,
) -> list[Block]:
    tally = " · ".join(f"*{state.title()}* {counts.get(state, 0):,}" for state in STATES)
    new_connection = button(HomeId.CONNECT_ACTION, texts.NEW_CONNECTION, "connect", "primary")
    blocks: list[Block] = [
        section(tally),
        actions(HomeId.ADMIN_BLOCK, new_connection),
        divider(),
        header(texts.WAITING_FOR_PARTNERS),
    ]
    if not in_flight:
        blocks.append(context(texts.NONE_WAITING))
    for row in in_flight:
        blocks.append(section(describe(row, now, reminder_max=reminder_max)))
        if row.invitation_id is None:  # no code: nothing to remind of or resend
            cancel = m.cancel_button(str(row.id), code=False)
            blocks.append(actions(f"connection_{row.id}", cancel))
            continue
        row_actions = m.admin_actions(row.id, invitation_id=row.invitation_id)
        remind = button(HomeId.REMIND_ACTION, texts.REMIND_NOW, str(row.id))
        row_actions["elements"][0:0] = [remind]
        blocks.append(row_actions)
    if more:
        blocks.append(context(texts.more_waiting(more)))
    blocks += [divider(), header(texts.RECENTLY_ACTIVE)]
    if not recent:
        blocks.append(context(texts.NONE_ACTIVE))
    else:
        lines = [f"• `{escape(r.name)}` with {r.partner}, {when(r.activated_at)}" for r in recent]
        blocks.append(section("\n".join(lines)))
    return blocks
