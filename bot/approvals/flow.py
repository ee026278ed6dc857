"""An approval's life: requested at Initiate (EXALATE_APPROVERS set: the connection awaits
approval, nothing goes to the node or the partner), then approved (the code is made and the
invitation goes out as it would have, its notice naming the approver), rejected (with a
reason, told to the admin who asked; the partner gets nothing) or expired after APPROVAL_TTL.

The first decision wins (a conditional UPDATE); whoever asked can't decide their own request;
only the approvers may decide. Each approver's DM loses its buttons once decided."""

from __future__ import annotations

import logging
import secrets
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.approvals import messages as am
from bot.approvals import texts
from bot.backend.base import BackendError, ConnectionSpec
from bot.delivery.rows import enqueue_edit, outbox_row
from bot.installs.oauth import install_url
from bot.invitations.errors import Refused
from bot.invitations.notices import Thread, direct, enqueue_invitation, outbox_ids
from bot.invitations.people import partner_for_admin
from bot.invitations.policy import waited
from bot.invitations.transitions import CS, Transitions
from bot.permissions import CannotCheck
from bot.security import hash_code
from storage import repo
from storage.db import transaction
from storage.models import Approval, ApprovalState, Connection, Outbox

log = logging.getLogger(__name__)

AS = ApprovalState
BATCH = 100


def spec_of(connection: Connection) -> ConnectionSpec:
    """What the node needs to create the connection, as the wizard decided it."""
    return ConnectionSpec(
        team_id=connection.team_id,
        name=connection.name,
        destination=connection.destination,
        destination_url=connection.destination_url,
        mode=connection.mode,
        local_short_name=connection.local_short_name,
        remote_short_name=connection.remote_short_name,
        description=connection.description,
        project_key=connection.project_key,
        partner_user_id=connection.partner_user_id,
        partner_team_id=connection.partner_team_id,
    )


class Approvals(Transitions):
    async def requested(
        self, session: AsyncSession, connection: Connection, approval: Approval
    ) -> list[int]:
        """The approvers' DMs, the card and the thread's notice: written with the request."""
        now, note = self.s.clock.now(), str(approval.request.get("note") or "")
        partner = partner_for_admin(connection)
        rows = [
            await direct(
                session,
                connection,
                approver,
                f"{approval.id}:{approver}",
                am.request_dm(
                    connection,
                    approval_id=approval.id or 0,
                    partner=partner,
                    note=note,
                    expires_at=approval.expires_at,
                ),
                now,
                purpose="approval_dm",
            )
            for approver in approval.approvers
        ]
        told = am.notice_requested(connection, approvers=approval.approvers)
        await repo.mark_homes_dirty(
            session=session, team_id=connection.team_id, users=[approval.requested_by]
        )
        return outbox_ids(rows, await self.thread.tell(session, connection, "approval", told, now))

    async def check(
        self, client: AsyncWebClient, *, approval_id: int, user_id: str, team_id: str
    ) -> tuple[Approval, Connection]:
        """The request, if `user_id` may decide it now (an approver, not who asked, still
        pending); Refused saying why not."""
        async with self.s.sessions() as session:
            approval = await repo.get_approval(session=session, approval_id=approval_id)
            connection = (
                await repo.find_connection(session=session, connection_id=approval.connection_id)
                if approval is not None
                else None
            )
        if approval is None or connection is None or approval.team_id != team_id:
            raise Refused(texts.NOT_FOUND)
        approvers = self.s.approvers
        try:
            allowed = approvers is not None and await approvers.is_admin(
                client, team_id=team_id, user_id=user_id
            )
        except CannotCheck as trouble:
            raise Refused(str(trouble)) from None
        if not allowed:
            names = approvers.who_may_initiate() if approvers else "nobody (approvals are off)"
            raise Refused(texts.not_an_approver(names))
        if user_id == approval.requested_by:
            raise Refused(texts.OWN_REQUEST)
        if approval.state != AS.PENDING or approval.expires_at <= self.s.clock.now():
            raise Refused(texts.decided(approval.state, approval.decided_by))
        return approval, connection

    async def _decide(self, approval: Approval, state: AS, user_id: str, reason: str = "") -> None:
        async with transaction(self.s.sessions) as session:
            won = await repo.decide_approval(
                session=session,
                approval_id=approval.id or 0,
                state=state,
                by=user_id,
                now=self.s.clock.now(),
                reason=reason,
            )
            if not won:
                current = await repo.get_approval(session=session, approval_id=approval.id or 0)
                assert current is not None
                await session.refresh(current)  # as the winner left it
                raise Refused(texts.decided(current.state, current.decided_by))

    async def approve(
        self, client: AsyncWebClient, *, approval_id: int, user_id: str, team_id: str
    ) -> list[int]:
        """The invitation goes out as Initiate would have sent it; its notice names who
        approved. Refused when `user_id` may not, or someone decided first."""
        approval, connection = await self.check(
            client, approval_id=approval_id, user_id=user_id, team_id=team_id
        )
        await self._decide(approval, AS.APPROVED, user_id)
        try:
            if approval.pasted_sealed:  # a node without an initiate API: the console's code
                code = self.s.vault.open(approval.pasted_sealed)
                initiated = await self.s.backend.attach(spec_of(connection), code)
            else:
                initiated = await self.s.backend.initiate(spec_of(connection))
        except BackendError as exc:
            async with transaction(self.s.sessions) as session:
                await repo.reopen_approval(
                    session=session, approval_id=approval_id, now=self.s.clock.now()
                )
            raise Refused(texts.node_failed(exc)) from None
        now, asked = self.s.clock.now(), approval.request
        async with transaction(self.s.sessions) as session:
            await repo.remember_backend_id(
                session=session,
                connection_id=connection.id,
                backend_id=initiated.backend_id,
                now=now,
            )
            invitation = await repo.add_invitation(
                session=session,
                team_id=connection.team_id,
                connection_id=connection.id or 0,
                partner_user_id=connection.partner_user_id,
                partner_team_id=connection.partner_team_id,
                partner_tz=asked.get("partner_tz"),
                reach_team_id=asked.get("reach_team_id"),
                partner_email=asked.get("partner_email"),
                by_email=bool(asked.get("by_email")),
                reply_to=asked.get("reply_to"),
                code_hash=hash_code(initiated.code),
                code_sealed=self.s.vault.seal(initiated.code),
                note=str(asked.get("note") or ""),
                expires_at=now + self.settings.invitation_ttl,
                next_reminder_at=self.next_reminder(now, asked.get("partner_tz")),
                created_at=now,
                updated_at=now,
            )
            await self._set_state(session, connection, CS.PENDING, now, frm=CS.APPROVAL)
            await self._audit(
                session,
                connection,
                "approved",
                now,
                invitation=invitation,
                actor=user_id,
                frm=CS.APPROVAL,
                to=CS.PENDING,
            )
            sent = await enqueue_invitation(
                session,
                connection=connection,
                invitation=invitation,
                code=initiated.code,
                now=now,
                vault=self.s.vault,
                accept_here=self.s.backend.can_redeem,
                install_link=install_url(self.settings) if self.settings.oauth else None,
                thread=Thread.of(self.settings),
                mail_on=self.mail_on,
                approved_by=user_id,
            )
            told = am.approved_for_initiator(
                connection, by=user_id, partner=partner_for_admin(connection)
            )
            return sent + outbox_ids(
                await direct(session, connection, approval.requested_by, "approved", told, now),
                *await self._edit_requests(session, connection, AS.APPROVED, user_id, ""),
            )

    async def reject(
        self,
        client: AsyncWebClient,
        *,
        approval_id: int,
        user_id: str,
        team_id: str,
        reason: str,
    ) -> list[int]:
        """No code, no partner: the admin who asked is told, with the reason."""
        approval, connection = await self.check(
            client, approval_id=approval_id, user_id=user_id, team_id=team_id
        )
        await self._decide(approval, AS.REJECTED, user_id, reason)
        now = self.s.clock.now()
        async with transaction(self.s.sessions) as session:
            await self._set_state(session, connection, CS.REJECTED, now, frm=CS.APPROVAL)
            await self._audit(
                session,
                connection,
                "rejected",
                now,
                actor=user_id,
                frm=CS.APPROVAL,
                to=CS.REJECTED,
                detail=reason,
            )
            told = am.rejected_for_initiator(connection, by=user_id, reason=reason)
            notice = am.notice_rejected(connection, by=user_id)
            return outbox_ids(
                await direct(session, connection, approval.requested_by, "rejected", told, now),
                await self.thread.tell(session, connection, "rejected", notice, now),
                *await self._edit_requests(session, connection, AS.REJECTED, user_id, reason),
            )

    async def expire_due(self) -> list[int]:
        """Requests past APPROVAL_TTL: expired, the admin who asked and the thread told."""
        now = self.s.clock.now()
        ids: list[int] = []
        async with transaction(self.s.sessions) as session:
            expired = await repo.claim_expired_approvals(session=session, now=now, limit=BATCH)
            connections = await repo.connections_by_id(
                session=session, connection_ids={a.connection_id for a in expired}
            )
            for approval in expired:
                connection = connections[approval.connection_id]
                await self._set_state(session, connection, CS.EXPIRED, now, frm=CS.APPROVAL)
                await self._audit(
                    session,
                    connection,
                    "approval_expired",
                    now,
                    frm=CS.APPROVAL,
                    to=CS.EXPIRED,
                    detail=f"no decision within {waited(approval.created_at, now)}",
                )
                told = am.expired_for_initiator(connection, waited=waited(approval.created_at, now))
                ids += outbox_ids(
                    await direct(
                        session, connection, approval.requested_by, "approval_expired", told, now
                    ),
                    await self.thread.tell(
                        session, connection, "expired", am.notice_expired(connection), now
                    ),
                    *await self._edit_requests(session, connection, AS.EXPIRED, None, ""),
                )
        return ids

    async def _edit_requests(
        self,
        session: AsyncSession,
        connection: Connection,
        state: AS,
        by: str | None,
        reason: str,
    ) -> list[Outbox | None]:
        """Every approver's DM about the request, without its buttons, saying how it ended."""
        decided = am.decided_dm(connection, state=state, by=by, reason=reason)
        edits: list[Outbox | None] = []
        for row in await repo.approval_requests(session=session, connection_id=connection.id or 0):
            values: dict[str, Any] = outbox_row(
                team_id=row.team_id,
                key=f"approval_edit:{row.id}:{secrets.token_hex(8)}",
                purpose="approval_dm_edit",
                channel=row.channel,
                message=decided,
                now=self.s.clock.now(),
                connection_id=connection.id,
                edit_of=row.id,
            )
            edits.append(await enqueue_edit(session, values))
        await repo.mark_homes_dirty(
            session=session, team_id=connection.team_id, users=[connection.initiator_user_id]
        )
        return edits
