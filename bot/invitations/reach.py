"""When a partner's workspace adds or removes the app.

Removed (`uninstalled`): its installation goes; every invitation waiting for someone there is
reached nowhere from now on, and its admin and thread are told ("Globex removed the app:
Pat can't be reached in Slack any more"); the reminders go to the admin.

Added (`installed`): invitations waiting for someone Slack couldn't reach are looked for
there (a member who was reached there before, or the partner's e-mail), and reach them: the
invitation DM with its code if they never had it, else the reminders simply go to them again.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.delivery.rows import enqueue_many
from bot.invitations import messages as m
from bot.invitations.notices import Thread, audit_row, direct_row, enqueue_invitation, notice_row
from bot.invitations.people import partner_for_admin
from bot.invitations.transitions import Transitions
from bot.slack.directory import Partner, resolve_partner
from storage import repo
from storage.db import transaction
from storage.models import Invitation

log = logging.getLogger(__name__)


class Reach(Transitions):
    async def uninstalled(self, team_id: str) -> int:
        """The workspace removed the app: how many waiting invitations lost their partner."""
        assert self.s.workspaces is not None
        name = (await self.s.workspaces.names([team_id])).get(team_id) or "Their workspace"
        await self.s.workspaces.remove(team_id)
        now = self.s.clock.now()
        async with transaction(self.s.sessions) as session:
            lost = await repo.unreach_invitations(session=session, team_id=team_id, now=now)
            connections = await repo.connections_by_id(
                session=session, connection_ids={i.connection_id for i in lost}
            )
            rows: list[dict[str, Any] | None] = []
            audits = []
            for invitation in lost:
                connection = connections[invitation.connection_id]
                partner, key = partner_for_admin(connection), f"unreachable:{invitation.id}"
                key += f":{int(now.timestamp())}"
                rows += [
                    direct_row(
                        connection,
                        connection.initiator_user_id,
                        key,
                        m.dm_unreachable(partner=partner, name=connection.name, workspace=name),
                        now,
                        invitation_id=invitation.id,
                    ),
                    notice_row(
                        connection, key, m.notice_unreachable(partner=partner, workspace=name), now
                    ),
                ]
                audits.append(
                    audit_row(
                        connection,
                        "unreachable",
                        now,
                        invitation=invitation,
                        detail=f"{team_id} removed the app",
                    )
                )
            ids = await enqueue_many(session, [row for row in rows if row is not None])
            await repo.add_audits(session=session, events=audits)
        log.info("workspace %s removed the app: %d invitation(s) unreachable", team_id, len(lost))
        await self.courier.run(ids=ids)  # the sweep retries what doesn't go now
        return len(lost)

    async def installed(self, team_id: str) -> int:
        """The workspace added the app: how many waiting invitations reach their partner now."""
        assert self.s.workspaces is not None
        client = await self.s.workspaces.client(team_id)
        if client is None:
            return 0
        name = (await self.s.workspaces.names([team_id])).get(team_id) or "Their workspace"
        async with self.s.sessions() as session:
            members = await repo.unreached_members_of(session=session, team_id=team_id)
            by_email = await repo.unreached_pending_invitations(session=session)
        outbox: list[int] = []
        reached = 0
        seen: set[int] = set()
        for invitation in [*members, *by_email]:
            if invitation.id in seen:
                continue
            seen.add(invitation.id or 0)
            user = await self._member(client, invitation, team_id)
            rows = await self._reach(invitation, team_id, user, name) if user else None
            if rows:
                outbox, reached = outbox + rows, reached + 1
        if reached:
            log.info("workspace %s added the app: %d invitation(s) reach it now", team_id, reached)
            await self.courier.run(ids=outbox)
        return reached

    async def _member(
        self, client: AsyncWebClient, invitation: Invitation, team_id: str
    ) -> Partner | None:
        """The invitation's partner in this workspace, if they are in it."""
        known = invitation.partner_team_id == team_id and invitation.partner_user_id
        partner, _ = await resolve_partner(
            client,
            user_id=invitation.partner_user_id if known else None,
            email=None if known else invitation.partner_email,
            admin_user_id="",
        )
        if partner is None or (partner.team_id and partner.team_id != team_id):
            return None
        return partner

    async def _reach(
        self, invitation: Invitation, team_id: str, user: Partner, workspace: str
    ) -> list[int]:
        """Reach the invitation's partner through `team_id`: the outbox rows to send (none
        if another replica, or an answer, got there first). Their reminders follow their
        Slack time zone from now on (an e-mailed partner's was the wizard's guess)."""
        now = self.s.clock.now()
        user_id, user_name = user.user_id, user.full_name or user.name
        async with transaction(self.s.sessions) as session:
            moved = await repo.reach_invitation(
                session=session,
                invitation_id=invitation.id or 0,
                team_id=team_id,
                partner_user_id=user_id,
                now=now,
                partner_label=f"{user_name} ({workspace})",
                partner_tz=user.tz,
            )
            if moved is None:  # another replica got there first, or it is answered
                return []
            connection = await repo.find_connection(
                session=session, connection_id=moved.connection_id
            )
            assert connection is not None
            key = f"reached:{moved.id}:{int(now.timestamp())}"
            partner = partner_for_admin(connection)
            ids: list[int] = []
            if moved.dm_ts is None and moved.code_sealed:  # they never had the code
                ids += await enqueue_invitation(
                    session,
                    connection=connection,
                    invitation=moved,
                    code=self.s.vault.open(moved.code_sealed),
                    now=now,
                    vault=self.s.vault,
                    accept_here=self.s.backend.can_redeem,
                    dm_key=key,
                    notice_key=f"sent:{key}",
                    thread=Thread.of(self.settings),
                )
            rows = [
                notice_row(
                    connection, key, m.notice_reached(partner=partner, workspace=workspace), now
                )
            ]
            ids += await enqueue_many(session, [row for row in rows if row is not None])
            await repo.add_audits(
                session=session,
                events=[
                    audit_row(connection, "reached", now, invitation=moved, detail=f"in {team_id}")
                ],
            )
            await repo.mark_homes_dirty(session=session, team_id=team_id, users=[user_id])
        return ids
