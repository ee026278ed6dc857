"""The invitation funnel of a workspace over a window of time (the admin's Home tab and
`/exalate report`), computed in SQL: two statements, on SQLite and PostgreSQL alike.

What is counted, for the workspace `team_id` and the window [`since`, `now`] (both ends in):

- **sent**: the connections that had an invitation code (at least one invitation row; a
  connection without a code, Visual or Basic with admin access to the destination, is not in
  the funnel) whose first invitation was sent in the window. The first invitation is written
  with its connection, in one transaction and at the same moment (`repo.create_connection`),
  so its time is the connection's `created_at`, which the window reads (on the index
  `ix_connection_team_created`); a resend's later invitation does not move a connection
  into a later window.
- **accepted**: of those, the ones that were ever accepted (`activated_at` set), whatever their
  state now (Active, Deactivated later, Removed by the node later).
- **declined**, **expired**, **cancelled**: of those, the ones in that state now (an expired
  one that was resent and is pending again is not expired).
- **time to accept**: `activated_at` minus the first invitation's time, over the accepted; its
  median and 90th percentile by *nearest rank*: the ⌈p·n⌉-th of the n times in ascending
  order (so the median of 4 is the 2nd, the lower middle; the 90th percentile of 10 is the
  9th). None when nothing was accepted.
- **reminders per acceptance**: the reminders sent to the accepted connections' partners (the
  sum of `reminders_sent` over every invitation of those connections, resent ones included),
  divided by the number accepted. None when nothing was accepted.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Connection, ConnectionState, Invitation

CS = ConnectionState


@dataclass(frozen=True)
class FunnelFigures:
    """One workspace's funnel over [since, now] (the definitions: this module's docstring)."""

    since: datetime
    now: datetime
    sent: int = 0
    accepted: int = 0
    declined: int = 0
    expired: int = 0
    cancelled: int = 0
    median_to_accept: timedelta | None = None
    p90_to_accept: timedelta | None = None
    reminders_to_accepted: int = 0  # the sum over the accepted connections' invitations

    @property
    def days(self) -> int:
        return round((self.now - self.since) / timedelta(days=1))

    @property
    def reminders_per_acceptance(self) -> float | None:
        return self.reminders_to_accepted / self.accepted if self.accepted else None


def nearest_rank(*, n: int, percent: int) -> int:
    """The 1-based rank of the `percent`th percentile of n values: ⌈percent·n/100⌉ (n ≥ 1)."""
    return max((percent * n + 99) // 100, 1)


def _seconds_to_accept(session: AsyncSession) -> Any:
    """activated_at − created_at in seconds, in the dialect's words (used only to rank)."""
    activated, created = col(Connection.activated_at), col(Connection.created_at)
    if session.bind.dialect.name == "sqlite":
        return (func.julianday(activated) - func.julianday(created)) * 86400.0
    return func.extract("epoch", activated - created)


def _in_window(*, team_id: str, since: datetime, now: datetime) -> tuple[Any, ...]:
    return (
        Connection.team_id == team_id,
        col(Connection.created_at) >= since,
        col(Connection.created_at) <= now,
    )


def _with_a_code() -> Any:
    """The connection has an invitation (a connection without a code has none)."""
    return select(Invitation.id).where(col(Invitation.connection_id) == Connection.id).exists()


def _count(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


async def funnel(
    *, session: AsyncSession, team_id: str, since: datetime, now: datetime
) -> FunnelFigures:
    """The funnel of `team_id` for the connections first invited in [since, now]."""
    window = _in_window(team_id=team_id, since=since, now=now)
    # one row per connection with a code in the window: its state, when accepted, and the
    # reminders of all its invitations. EXISTS and a correlated sum, not a join and GROUP BY:
    # so both databases read the window on the index (team_id, created_at), not every
    # connection of the workspace; the sum is asked only of the accepted ones.
    reminders = (
        select(func.sum(Invitation.reminders_sent))
        .where(col(Invitation.connection_id) == Connection.id)
        .scalar_subquery()
    )
    per_connection = (
        select(
            col(Connection.status).label("status"),
            col(Connection.activated_at).label("activated_at"),
            reminders.label("reminders"),
        )
        .where(*window, _with_a_code())
        .subquery()
    )
    accepted = per_connection.c.activated_at.is_not(None)
    totals = select(
        func.count(),
        _count(accepted),
        _count(per_connection.c.status == CS.DECLINED),
        _count(per_connection.c.status == CS.EXPIRED),
        _count(per_connection.c.status == CS.CANCELLED),
        func.coalesce(func.sum(case((accepted, per_connection.c.reminders), else_=0)), 0),
    ).select_from(per_connection)
    row = (await session.exec(totals)).one()  # type: ignore[call-overload]
    sent, won, declined, expired, cancelled, reminded = (int(v) for v in row)
    figures = FunnelFigures(
        since=since,
        now=now,
        sent=sent,
        accepted=won,
        declined=declined,
        expired=expired,
        cancelled=cancelled,
        reminders_to_accepted=reminded,
    )
    if not won:
        return figures
    median, p90 = await _times_to_accept(session, window, won)
    return replace(figures, median_to_accept=median, p90_to_accept=p90)


async def _times_to_accept(
    session: AsyncSession, window: tuple[Any, ...], accepted: int
) -> tuple[timedelta | None, timedelta | None]:
    """The median's and the 90th percentile's time to accept: the accepted connections with a
    code, ranked by it in SQL, and only the two rows at those ranks read back (None only if
    the accepted became fewer between the two statements, which the bot never does)."""
    ranked = (
        select(
            col(Connection.created_at).label("created_at"),
            col(Connection.activated_at).label("activated_at"),
            func.row_number()
            .over(order_by=(_seconds_to_accept(session), col(Connection.id)))
            .label("rank"),
        )
        .where(*window, col(Connection.activated_at).is_not(None), _with_a_code())
        .subquery()
    )
    median, p90 = nearest_rank(n=accepted, percent=50), nearest_rank(n=accepted, percent=90)
    statement = select(ranked.c.rank, ranked.c.created_at, ranked.c.activated_at).where(
        ranked.c.rank.in_({median, p90})
    )
    rows = (await session.exec(statement)).all()  # type: ignore[call-overload]
    found = {int(rank): activated - created for rank, created, activated in rows}
    return found.get(median), found.get(p90)
