"""Approvals (EXALATE_APPROVERS): the request, the conditional decision (of two approvers
clicking at once, one wins), and claiming those past APPROVAL_TTL."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import claim_all
from storage.models import Approval, ApprovalState, Connection, ConnectionState, Outbox
from storage.repo.audit import add_audit
from storage.repo.connections import connection_from

AS = ApprovalState


async def create_connection_for_approval(
    *,
    session: AsyncSession,
    team_id: str,
    answers: dict[str, Any],
    backend: str,
    initiator_user_id: str,
    partner_user_id: str,
    partner_team_id: str,
    partner_label: str,
    initiator_label: str,
    approvers: list[str],
    request: dict[str, Any],
    pasted_sealed: str | None,
    expires_at: datetime,
    now: datetime,
) -> tuple[Connection, Approval]:
    """A connection awaiting approval (no code, nothing on the node yet), its request, and
    the audit row that says so; `request` holds what its invitation will need."""
    connection = connection_from(
        answers=answers,
        team_id=team_id,
        backend=backend,
        backend_id=None,
        initiator_user_id=initiator_user_id,
        partner_user_id=partner_user_id,
        partner_team_id=partner_team_id,
        partner_label=partner_label,
        initiator_label=initiator_label,
        now=now,
    )
    connection.status = ConnectionState.APPROVAL
    session.add(connection)
    await session.flush()
    assert connection.id is not None
    approval = await add_approval(
        session=session,
        team_id=team_id,
        connection_id=connection.id,
        requested_by=initiator_user_id,
        approvers=approvers,
        request=request,
        pasted_sealed=pasted_sealed,
        expires_at=expires_at,
        created_at=now,
        updated_at=now,
    )
    await add_audit(
        session=session,
        team_id=team_id,
        connection_id=connection.id,
        invitation_id=None,
        actor=initiator_user_id,
        action="approval_requested",
        from_state=None,
        to_state=ConnectionState.APPROVAL,
        detail="asked " + ", ".join(approvers),
        now=now,
    )
    return connection, approval


async def add_approval(*, session: AsyncSession, **values: Any) -> Approval:
    """A new request for approval (Approval's values), flushed: it has its id."""
    approval = Approval(**values)
    session.add(approval)
    await session.flush()
    return approval


async def get_approval(*, session: AsyncSession, approval_id: int) -> Approval | None:
    return await session.get(Approval, approval_id)


async def decide_approval(
    *,
    session: AsyncSession,
    approval_id: int,
    state: ApprovalState,
    by: str,
    now: datetime,
    reason: str = "",
) -> bool:
    """Approve or reject a pending request not yet past its life: True when this call
    decided it (the first decision wins)."""
    result = await session.exec(  # type: ignore[call-overload]
        update(Approval)
        .where(
            col(Approval.id) == approval_id,
            Approval.state == AS.PENDING,
            col(Approval.expires_at) > now,
        )
        .values(state=state, decided_by=by, decided_at=now, reason=reason[:1000], updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)


async def reopen_approval(*, session: AsyncSession, approval_id: int, now: datetime) -> None:
    """An approval the node couldn't act on (it was down): pending again, to approve anew."""
    await session.exec(  # type: ignore[call-overload]
        update(Approval)
        .where(col(Approval.id) == approval_id, Approval.state == AS.APPROVED)
        .values(state=AS.PENDING, decided_by=None, decided_at=None, updated_at=now)
        .execution_options(synchronize_session=False)
    )


async def claim_expired_approvals(
    *, session: AsyncSession, now: datetime, limit: int
) -> list[Approval]:
    """Claim up to `limit` pending requests past their life: each turns Expired. In id order."""
    still_due = (Approval.state == AS.PENDING, col(Approval.expires_at) <= now)
    due = select(Approval.id).where(*still_due).order_by(col(Approval.expires_at)).limit(limit)

    def take(candidates: list[Any]) -> list[Any]:
        return [
            update(Approval)
            .where(col(Approval.id).in_(candidates), *still_due)
            .values(state=AS.EXPIRED, updated_at=now)
            .returning(Approval)
        ]

    won: list[Approval] = await claim_all(session, due, take)
    return sorted(won, key=lambda a: a.id or 0)


async def pending_approvals(*, session: AsyncSession, team_id: str, limit: int) -> list[Approval]:
    """The workspace's requests waiting for a decision, oldest first (an approver's Home)."""
    rows = await session.exec(
        select(Approval)
        .where(Approval.team_id == team_id, Approval.state == AS.PENDING)
        .order_by(col(Approval.created_at))
        .limit(limit)
    )
    return list(rows.all())


async def approval_requests(*, session: AsyncSession, connection_id: int) -> list[Outbox]:
    """The approvers' DMs about a connection's request (to edit once it is decided)."""
    rows = await session.exec(
        select(Outbox)
        .where(Outbox.connection_id == connection_id, Outbox.purpose == "approval_dm")
        .order_by(col(Outbox.id))
    )
    return list(rows.all())
