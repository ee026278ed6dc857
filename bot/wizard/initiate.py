"""Initiating, once per wizard, and delivering: the review's submission.

`Initiation.once` runs the last checks, then the backend's connection and code, and ours
with the DM and the notice in one transaction, under the wizard's key: a second click (or a
replica's retry) gets the same result and sends nothing again. `delivery` is what runs after
the acknowledgement: the DM and the notice, then the result view says how the DM went.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.exc import IntegrityError

from bot.approvals import texts as approval_texts
from bot.approvals.flow import Approvals
from bot.backend.base import BackendError, ConnectionRef, ConnectionSpec
from bot.idempotency import Once
from bot.installs.oauth import install_url
from bot.invitations.notices import Thread, enqueue_invitation
from bot.invitations.service import Invitations
from bot.permissions import CannotCheck
from bot.security import hash_code, remember_secret
from bot.services import Services
from bot.settings import Settings
from bot.slack.errors import SLACK_FAILURES, slack_error
from bot.slack.text import escape
from bot.wizard import rules, steps, texts
from bot.wizard.checks import name_taken
from bot.wizard.review import build_created_view, build_result_view
from bot.wizard.rules import Answers
from storage import repo
from storage.db import transaction

log = logging.getLogger(__name__)


def install_link(settings: Settings) -> str | None:
    """The link for the partner's Slack admin to add the app (OAuth mode only)."""
    return install_url(settings) if settings.oauth else None


class Initiation:
    def __init__(self, services: Services) -> None:
        self.s = services

    async def once(
        self,
        client: AsyncWebClient,
        key: str,
        answers: Answers,
        values: dict[str, Any],
        *,
        team_id: str,
        user_id: str,
    ) -> tuple[bool, dict[str, Any]]:
        """(whether this call initiated, the result): the invitation and outbox ids (without a
        code: the connection's id, the outbox ids, whether it is already Active), a missing
        step ({"step": …}), or the error to show ({"error": …, "field": …})."""
        return await Once(self.s).run(
            f"initiate:{key}", lambda: self._initiate(client, answers, values, team_id, user_id)
        )

    async def code(self, invitation_id: int) -> str:
        """The code of the invitation initiated, opened from its sealed copy."""
        async with self.s.sessions() as session:
            sealed = await repo.invitation_sealed_code(session=session, invitation_id=invitation_id)
        assert sealed is not None
        return self.s.vault.open(sealed)

    async def _initiate(
        self,
        client: AsyncWebClient,
        answers: Answers,
        values: dict[str, Any],
        team_id: str,
        user_id: str,
    ) -> dict[str, Any]:
        if not await self.s.permissions.is_admin(client, team_id=team_id, user_id=user_id):
            return {"error": self.s.permissions.refusal("initiate a connection")}
        sends_code, pasted = rules.sends_code(answers), None
        if sends_code and not self.s.backend.can_initiate:
            pasted, error = rules.check_pasted_code(values.get("code"))
            if error:
                return {"error": error, "field": "code"}
            remember_secret(pasted)
        missing = rules.missing_for_review(answers)
        wrong = missing[0] if missing else steps.first_invalid_step(answers)
        if wrong is not None:  # go back to the step whose answer is missing or not right
            return {"error": texts.MISSING, "step": wrong.value}
        name = answers["connection_name"]
        if await name_taken(self.s, team_id=team_id, name=name):
            return {"error": texts.name_just_taken(name)}
        spec = ConnectionSpec(
            team_id=team_id,
            name=name,
            destination=answers["destination"],
            destination_url=answers.get("destination_url"),
            mode=answers["mode"],
            local_short_name=answers["local_short_name"],
            remote_short_name=answers["remote_short_name"],
            description=answers.get("description") or "",
            project_key=answers["project_key"],
            # no code, no partner: the admin accepts it on the destination themselves
            partner_user_id=(answers.get("partner_user_id") or "") if sends_code else "",
            partner_team_id=(answers.get("partner_team_id") or team_id) if sends_code else team_id,
        )
        if not sends_code:
            return await self._without_code(spec, answers, user_id)
        if self.s.approvers is not None:  # four eyes: nothing goes out before an approver
            return await self._for_approval(client, spec, answers, pasted, user_id)
        try:
            if pasted is None:
                initiated = await self.s.backend.initiate(spec)
            else:
                initiated = await self.s.backend.attach(spec, pasted)
        except BackendError as exc:
            return {"error": str(exc), "field": "code" if pasted is not None else None}
        now = self.s.clock.now()
        partner_tz = answers.get("partner_tz")
        try:
            async with transaction(self.s.sessions) as session:
                connection, invitation = await repo.create_connection(
                    session=session,
                    team_id=team_id,
                    answers=answers,
                    backend=self.s.backend.kind,
                    backend_id=initiated.backend_id,
                    initiator_user_id=user_id,
                    partner_user_id=spec.partner_user_id,
                    partner_team_id=spec.partner_team_id,
                    partner_tz=partner_tz,
                    reach_team_id=answers.get("partner_reach_team_id"),
                    by_hand=bool(answers.get("partner_by_hand")),
                    by_email=bool(answers.get("partner_by_email")),
                    partner_email=answers.get("partner_email")
                    or answers.get("partner_found_email"),
                    reply_to=answers.get("initiator_email"),
                    partner_label=str(answers.get("partner_label") or ""),
                    initiator_label=str(answers.get("initiator_label") or ""),
                    code_hash=hash_code(initiated.code),
                    code_sealed=self.s.vault.seal(initiated.code),
                    expires_at=now + self.s.settings.invitation_ttl,
                    next_reminder_at=Invitations(self.s).next_reminder(now, partner_tz),
                    now=now,
                )
                outbox_ids = await enqueue_invitation(
                    session,
                    connection=connection,
                    invitation=invitation,
                    code=initiated.code,
                    now=now,
                    vault=self.s.vault,
                    accept_here=self.s.backend.can_redeem,
                    install_link=install_link(self.s.settings),
                    thread=Thread.of(self.s.settings),
                    mail_on=self.s.mail_courier is not None,
                )
        except IntegrityError:
            return {"error": texts.name_just_taken(name)}
        log.info(
            "connection %s (#%s) initiated by %s for %s",
            connection.name,
            connection.id,
            user_id,
            spec.partner_user_id,
        )
        return {"invitation_id": invitation.id, "outbox": outbox_ids}

    async def _for_approval(
        self,
        client: AsyncWebClient,
        spec: ConnectionSpec,
        answers: Answers,
        pasted: str | None,
        user_id: str,
    ) -> dict[str, Any]:
        """EXALATE_APPROVERS: the connection awaits approval (no code, nothing on the node);
        each approver but whoever asks gets the review with Approve and Reject."""
        assert self.s.approvers is not None
        try:
            named = await self.s.approvers.members(client, team_id=spec.team_id)
        except CannotCheck as trouble:
            return {"error": str(trouble)}
        approvers = [a for a in named if a != user_id]
        if not approvers:
            return {"error": approval_texts.NO_OTHER_APPROVER}
        now = self.s.clock.now()
        request = {
            "partner_tz": answers.get("partner_tz"),
            "reach_team_id": None
            if answers.get("partner_by_hand") or answers.get("partner_by_email")
            else answers.get("partner_reach_team_id") or spec.team_id,
            "partner_email": answers.get("partner_email") or answers.get("partner_found_email"),
            "by_email": bool(answers.get("partner_by_email")),
            "reply_to": answers.get("initiator_email"),
            "note": answers.get("note") or "",
        }
        try:
            async with transaction(self.s.sessions) as session:
                connection, approval = await repo.create_connection_for_approval(
                    session=session,
                    team_id=spec.team_id,
                    answers=answers,
                    backend=self.s.backend.kind,
                    initiator_user_id=user_id,
                    partner_user_id=spec.partner_user_id,
                    partner_team_id=spec.partner_team_id,
                    partner_label=str(answers.get("partner_label") or ""),
                    initiator_label=str(answers.get("initiator_label") or ""),
                    approvers=approvers,
                    request=request,
                    pasted_sealed=self.s.vault.seal(pasted) if pasted else None,
                    expires_at=now + self.s.settings.approval_ttl,
                    now=now,
                )
                outbox = await Approvals(self.s).requested(session, connection, approval)
        except IntegrityError:
            return {"error": texts.name_just_taken(spec.name)}
        log.info("connection %s (#%s) awaits approval", connection.name, connection.id)
        return {"approval_id": approval.id, "outbox": outbox, "approvers": approvers}

    async def _without_code(
        self, spec: ConnectionSpec, answers: Answers, user_id: str
    ) -> dict[str, Any]:
        """Visual mode, or Basic mode with admin access to the destination: no invitation code,
        no partner. The embedded node makes a Pending connection; on a real node the admin made
        it in the console, and the node must list it (Pending, or Active already)."""
        backend, active = self.s.backend, False
        try:
            if backend.can_initiate:
                backend_id: str | None = await backend.initiate_without_code(spec)
            else:  # the node's id is found by the name on the first status poll
                backend_id, active = None, await self._made_in_console(spec.name)
        except BackendError as exc:
            return {"error": str(exc)}
        now = self.s.clock.now()
        try:
            async with transaction(self.s.sessions) as session:
                connection = await repo.create_connection_without_code(
                    session=session,
                    team_id=spec.team_id,
                    answers=answers,
                    backend=backend.kind,
                    backend_id=backend_id,
                    initiator_user_id=user_id,
                    partner_label=f"<@{user_id}> on the destination",
                    now=now,
                )
                outbox = await Invitations(self.s).created_without_code(
                    session, connection, now, active=active
                )
        except IntegrityError:
            return {"error": texts.name_just_taken(spec.name)}
        log.info(
            "connection %s (#%s) created by %s without a code (%s mode)",
            connection.name,
            connection.id,
            user_id,
            connection.mode,
        )
        return {"connection_id": connection.id, "outbox": outbox, "active": active}

    async def _made_in_console(self, name: str) -> bool:
        """Whether the node's connection of that name is Active already (else Pending)."""
        ref = ConnectionRef(backend_id=None, name=name)
        status = (await self.s.backend.statuses([ref])).get(ref.key)
        if status is None:
            raise BackendError(texts.not_on_node(name))
        if status not in ("PENDING", "ACTIVE"):
            raise BackendError(texts.not_pending_on_node(name, status))
        return status == "ACTIVE"

    def created_view(self, answers: Answers, *, active: bool) -> dict[str, Any]:
        """The last view of a connection without a code: where the admin finishes it."""
        name = escape(str(answers.get("connection_name") or ""))
        backend = self.s.backend
        if backend.can_initiate:
            finish = texts.finish_local(name)
        else:
            finish = texts.finish_on_node(name, backend.console_url or "", active=active)
        return build_created_view(answers, finish=finish, active=active)

    def delivery(
        self,
        client: AsyncWebClient,
        *,
        view_id: str,
        answers: Answers,
        code: str,
        outbox_ids: list[int],
    ) -> Callable[[], Awaitable[None]]:
        async def deliver() -> None:
            """Send the DM and the notice now (the sweep retries what fails), then tell the
            admin in the result view how the DM went."""
            deliveries = await self.s.deliver(outbox_ids)
            dm = next((d for d in deliveries if d.purpose == "invitation_dm"), None)
            mail = next((d for d in deliveries if d.purpose == "invitation_email"), None)
            partner = rules.partner_shown(answers)
            if answers.get("partner_by_email") and mail and not mail.ok and not mail.retrying:
                delivery = texts.mail_refused(partner, mail.error)
            elif answers.get("partner_by_email"):
                delivery = texts.by_email(partner, sent=mail is not None and mail.ok)
            elif answers.get("partner_by_hand"):
                delivery = texts.by_hand(partner, install_link(self.s.settings))
            elif dm is not None and dm.ok:
                delivery = texts.sent(partner)
            elif dm is not None and not dm.retrying:
                delivery = texts.not_sent(partner, dm.error)
            else:
                delivery = texts.slow(partner)
            result_view = build_result_view(answers, code=code, delivery=delivery)
            try:
                await client.views_update(view_id=view_id, view=result_view)
            except SLACK_FAILURES as exc:  # the admin closed the modal already
                log.info("result view not updated: %s", slack_error(exc))

        return deliver
