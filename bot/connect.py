"""The `/exalate connect` wizard's flow: open, submit a step, go back, initiate, deliver.

The answers so far travel with the modal, in its private_metadata (`carried_metadata`): Slack
hands them back with the next submission, so Back, another replica and a restarted bot all
find them, and moving a step touches no database. Answers too long for Slack's 3,000
characters go to the draft table instead, keyed by the view's external_id. Submissions return
what to acknowledge Slack with; slow work (the DM, the notice) runs after the acknowledgement.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from bot import wizard
from bot.backend.base import BackendError, ConnectionSpec
from bot.idempotency import Once
from bot.invitations.notices import enqueue_invitation
from bot.invitations.service import Invitations
from bot.security import hash_code, remember_secret
from bot.services import Services
from bot.slack.directory import check_notice_channel, resolve_partner
from bot.slack.errors import SLACK_FAILURES, slack_error
from bot.views import (
    build_message_view,
    build_project_options,
    build_result_view,
    build_review_view,
    build_step_view,
    carried_metadata,
    read_state,
    spilled_metadata,
    view_metadata,
    view_step,
)
from bot.wizard import Answers, Errors, Step
from storage import repo
from storage.db import one_statement, transaction
from storage.models import Invitation

log = logging.getLogger(__name__)

KEY_RE = re.compile(r"[0-9a-f]{32}")  # uuid4().hex, from open()
DATABASE_AWAY = "I couldn't check this just now (my database is unavailable); try again shortly."
SEEN = ":white_check_mark: Initiated once, on your first click; the DM goes to the partner."


@dataclass
class Outcome:
    """What to acknowledge the submission with, and what to do after the acknowledgement."""

    response: dict[str, Any]
    after: Callable[[], Awaitable[None]] | None = None


def _update(view: dict[str, Any]) -> dict[str, Any]:
    return {"response_action": "update", "view": view}


def _errors(errors: Errors) -> dict[str, Any]:
    return {"response_action": "errors", "errors": errors}


EXPIRED = _update(
    build_message_view(
        "Wizard closed",
        "This wizard is no longer open (it was finished, cancelled or is too old). "
        "Run `/exalate connect` to start again.",
    )
)


class ConnectWizard:
    def __init__(self, services: Services) -> None:
        self.s = services

    # --- opening, and the answers so far ----------------------------------------------

    async def open(
        self, client: AsyncWebClient, *, trigger_id: str, team_id: str, user_id: str
    ) -> None:
        """Open the first step under a fresh key, the view's external_id: it names this
        wizard's Initiate (once) and, if the answers ever outgrow the view, their draft."""
        key = uuid.uuid4().hex
        who = {"team_id": team_id, "user_id": user_id}
        view = await self._build(key, Step.DESTINATION, {}, **who)
        await client.views_open(trigger_id=trigger_id, view=view)

    async def _load(self, view: dict[str, Any], *, team_id: str, user_id: str) -> Answers | None:
        """The answers so far: from the view itself, or from the draft table when they didn't
        fit in it. None when the view isn't this user's open wizard."""
        metadata = view_metadata(view)
        answers = metadata.get("answers")
        if isinstance(answers, dict):
            mine = metadata.get("team") == team_id and metadata.get("user") == user_id
            return dict(answers) if mine else None
        key = _key(view)
        if not key:
            return None
        async with one_statement(self.s.sessions, writes=False) as session:
            return await repo.draft_answers(
                session=session, view_key=key, team_id=team_id, user_id=user_id
            )

    async def _save(
        self, key: str, step: Step, answers: Answers, *, team_id: str, user_id: str
    ) -> None:
        async with one_statement(self.s.sessions) as session:
            await repo.save_draft(
                session=session,
                view_key=key,
                team_id=team_id,
                user_id=user_id,
                step=step,
                answers=answers,
                now=self.s.clock.now(),
            )

    async def _build(
        self, key: str, step: Step, answers: Answers, *, team_id: str, user_id: str
    ) -> dict[str, Any]:
        """The view of this step, carrying the answers so far (see the module's docstring)."""
        projects, total = None, 0
        if step is Step.PROJECT:
            page = await self.s.backend.search_projects("", limit=100)
            # an incomplete list can't be a static select: offer the type-ahead
            projects, total = page.projects, page.total if page.complete else 10**6
        view = build_step_view(
            step,
            answers,
            local_instance=await self.s.backend.instance_name(),
            projects=projects,
            total_projects=total,
            default_channel=self.s.settings.exalate_notify_channel,
            console_url=None if self.s.backend.can_initiate else self.s.backend.console_url,
        )
        return await self._carry(view, key, step, answers, team_id=team_id, user_id=user_id)

    async def _carry(
        self,
        view: dict[str, Any],
        key: str,
        step: Step,
        answers: Answers,
        *,
        team_id: str,
        user_id: str,
    ) -> dict[str, Any]:
        metadata = carried_metadata(step, answers, team_id=team_id, user_id=user_id)
        if metadata is None:  # too long for the view: the draft table keeps them
            await self._save(key, step, answers, team_id=team_id, user_id=user_id)
            metadata = spilled_metadata(step, team_id=team_id, user_id=user_id)
        return view | {"external_id": key, "private_metadata": metadata}

    async def closed(self, *, view: dict[str, Any], team_id: str, user_id: str) -> None:
        """Closing the modal drops its draft, if its answers had to go to the table."""
        if "answers" in view_metadata(view):
            return
        if await self._load(view, team_id=team_id, user_id=user_id) is None:
            return
        async with transaction(self.s.sessions) as session:
            await repo.delete_draft(session=session, view_key=_key(view))

    async def project_options(self, query: str) -> dict[str, Any]:
        try:
            page = await self.s.backend.search_projects(query, limit=100)
        except BackendError:
            return {"options": []}
        return build_project_options(page.projects)

    # --- moving between steps --------------------------------------------------------

    async def back(
        self, client: AsyncWebClient, *, team_id: str, user_id: str, view: dict[str, Any]
    ) -> None:
        """Back keeps what the admin typed on this step, unvalidated, and shows the last one."""
        answers = await self._load(view, team_id=team_id, user_id=user_id)
        step = _as_step(view_step(view))
        if answers is None or step is None:
            return
        state = view.get("state") if isinstance(view.get("state"), dict) else {}
        answers.update(wizard.kept_on_back(step, read_state(state.get("values")), answers))
        previous = wizard.previous_step(step, answers)
        who = {"team_id": team_id, "user_id": user_id}
        try:
            new_view = await self._build(_key(view), previous, answers, **who)
        except BackendError as exc:
            log.warning("backend unavailable going back: %s", exc)
            return
        try:
            await client.views_update(view_id=view["id"], hash=view.get("hash"), view=new_view)
        except SLACK_FAILURES as exc:  # hash_conflict: the admin already moved on
            log.info("views.update for Back failed: %s", slack_error(exc))

    async def submit(
        self, client: AsyncWebClient, *, team_id: str, user_id: str, view: dict[str, Any]
    ) -> Outcome:
        key = _key(view)
        answers = await self._load(view, team_id=team_id, user_id=user_id)
        step = _as_step(view_step(view))
        if answers is None or step is None or not key:
            return Outcome(EXPIRED)
        state = view.get("state") if isinstance(view.get("state"), dict) else {}
        values = read_state(state.get("values"))
        who = {"team_id": team_id, "user_id": user_id}
        if step is Step.REVIEW:
            return await self._initiate(client, key, view, answers, values, **who)
        try:
            update, errors = await self._check(client, step, values, answers, team_id, user_id)
        except BackendError as exc:
            log.warning("backend unavailable at step %s: %s", step, exc)
            return Outcome(_trouble(view, str(exc)))
        except (SQLAlchemyError, OSError) as exc:  # the name check needs the database
            log.warning("database unavailable at step %s: %s", step, type(exc).__name__)
            return Outcome(_trouble(view, DATABASE_AWAY, title="Database unavailable"))
        if errors:
            return Outcome(_errors(errors))
        answers.update(update)
        following = wizard.next_step(step, answers)
        try:
            next_view = await self._build(key, following, answers, **who)
        except BackendError as exc:
            log.warning("backend unavailable building %s: %s", following, exc)
            return Outcome(_trouble(view, str(exc)))
        return Outcome(_update(next_view))

    async def _check(
        self,
        client: AsyncWebClient,
        step: Step,
        values: dict[str, Any],
        answers: Answers,
        team_id: str,
        user_id: str,
    ) -> tuple[Answers, Errors]:
        if step is Step.DESTINATION:
            update, errors = wizard.validate_destination(values)
            if not errors and update["destination"] != answers.get("destination"):
                # a new destination: the modes offered and the derived names change with it
                update.update(mode=None, remote_short_name=None, connection_name=None)
            return update, errors
        if step is Step.MODE:
            return wizard.validate_mode(values, answers)
        if step is Step.INFO:
            update, errors = wizard.validate_info(values)
            if not errors and await self._name_taken(team_id, update["connection_name"]):
                name = update["connection_name"]
                errors["connection_name"] = f"`{name}` is already a connection; choose another."
            return update, errors
        if step is Step.PROJECT:
            key = str(values.get("project_key") or "")
            page = await self.s.backend.search_projects(key, limit=100) if key else None
            known = {p.key: p.name for p in page.projects} if page else {}
            return wizard.validate_project(values, known)
        return await self._check_partner(client, values, answers, team_id, user_id)

    async def _check_partner(
        self,
        client: AsyncWebClient,
        values: dict[str, Any],
        answers: Answers,
        team_id: str,
        user_id: str,
    ) -> tuple[Answers, Errors]:
        update, errors = wizard.validate_partner(values)
        if update["partner_user_id"] and update["partner_email"]:
            errors.setdefault(
                "partner_email", "Choose the partner above or enter an e-mail, not both."
            )
        if errors:
            return update, errors
        field = "partner_user_id" if update["partner_user_id"] else "partner_email"
        partner, error = await resolve_partner(
            client,
            user_id=update["partner_user_id"],
            email=update["partner_email"],
            admin_user_id=user_id,
        )
        if error or partner is None:
            errors[field] = error or "That partner can't be reached."
        if update["notice_channel"]:
            channel_error = await check_notice_channel(client, update["notice_channel"])
            if channel_error:
                errors["notice_channel"] = channel_error
        if errors or partner is None:
            return update, errors
        update.update(
            partner_user_id=partner.user_id,
            partner_team_id=partner.team_id or team_id,
            partner_name=partner.name,
            partner_tz=partner.tz,
        )
        if answers.get("mode") == "basic":
            hint = (update["partner_email"] or "").partition("@")[2].split(".")[0] or partner.name
            names = wizard.basic_mode_names(
                answers, local=await self.s.backend.instance_name(), partner_hint=hint
            )
            async with one_statement(self.s.sessions, writes=False) as session:
                taken = await repo.connection_names_with_prefix(
                    session=session, team_id=team_id, prefix=names["connection_name"]
                )
            names["connection_name"] = wizard.unique_name(names["connection_name"], taken)
            update.update(names)
        return update, errors

    async def _name_taken(self, team_id: str, name: str) -> bool:
        return await repo.connection_name_taken(engine=self.s.engine, team_id=team_id, name=name)

    # --- initiating and delivering ---------------------------------------------------

    async def _initiate(
        self,
        client: AsyncWebClient,
        key: str,
        view: dict[str, Any],
        answers: Answers,
        values: dict[str, Any],
        *,
        team_id: str,
        user_id: str,
    ) -> Outcome:
        """Initiate, once per wizard: a second click (or a replica's retry) gets the same
        result view, with the same code, and sends nothing again."""
        ran, result = await Once(self.s).run(
            f"initiate:{key}",
            lambda: self._initiate_once(client, answers, values, team_id, user_id),
        )
        who = {"team_id": team_id, "user_id": user_id}
        if "step" in result:  # an answer is missing: back to that step
            return Outcome(_update(await self._build(key, Step(result["step"]), answers, **who)))
        if "error" in result:
            if result.get("field"):
                return Outcome(_errors({result["field"]: result["error"]}))
            review = self._review(answers, result["error"])
            return Outcome(_update(await self._carry(review, key, Step.REVIEW, answers, **who)))
        async with self.s.sessions() as session:
            invitation = await session.get(Invitation, result["invitation_id"])
        assert invitation is not None and invitation.code_sealed is not None
        code = self.s.vault.open(invitation.code_sealed)
        if not ran:
            return Outcome(_update(build_result_view(answers, code=code, delivery=SEEN)))
        outbox_ids: list[int] = result["outbox"]
        view_id = str(view.get("id"))

        async def deliver() -> None:
            """Send the DM and the notice now (the sweep retries what fails), then tell the
            admin in the result view how the DM went."""
            deliveries = await Invitations(self.s).courier.run(ids=outbox_ids)
            dm = next((d for d in deliveries if d.purpose == "invitation_dm"), None)
            partner = f"<@{answers['partner_user_id']}>"
            if dm is not None and dm.ok:
                delivery = f":white_check_mark: Sent to {partner} by DM, with how to accept."
            elif dm is not None and not dm.retrying:
                delivery = (
                    f":warning: I couldn't DM {partner} (`{dm.error}`). Copy the code above "
                    "and send it to them yourself."
                )
            else:
                delivery = (
                    f":hourglass_flowing_sand: Slack is slow to answer; the DM to {partner} "
                    "goes out as soon as it does."
                )
            result_view = build_result_view(answers, code=code, delivery=delivery)
            try:
                await client.views_update(view_id=view_id, view=result_view)
            except SLACK_FAILURES as exc:  # the admin closed the modal already
                log.info("result view not updated: %s", slack_error(exc))

        return Outcome(_update(build_result_view(answers, code=code)), after=deliver)

    async def _initiate_once(
        self,
        client: AsyncWebClient,
        answers: Answers,
        values: dict[str, Any],
        team_id: str,
        user_id: str,
    ) -> dict[str, Any]:
        """Check once more; then the backend's connection and code, and ours with the DM and
        the notice in one transaction. Returns the invitation and outbox ids, a missing step,
        or the error to show."""
        if not await self.s.permissions.is_admin(client, team_id=team_id, user_id=user_id):
            return {"error": self.s.permissions.refusal("initiate a connection")}
        pasted = None
        if not self.s.backend.can_initiate:
            pasted, error = wizard.check_pasted_code(values.get("code"))
            if error:
                return {"error": error, "field": "code"}
            remember_secret(pasted)
        missing = wizard.missing_for_review(answers)
        wrong = missing[0] if missing else wizard.first_invalid_step(answers)
        if wrong is not None:  # go back to the step whose answer is missing or not right
            return {"error": "an answer is missing or not right", "step": wrong.value}
        name = answers["connection_name"]
        if await self._name_taken(team_id, name):
            return {"error": f"`{name}` was just taken; go back and choose another."}
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
            partner_user_id=answers["partner_user_id"],
            partner_team_id=answers.get("partner_team_id") or team_id,
        )
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
                )
        except IntegrityError:
            return {"error": f"`{name}` was just taken; go back and choose another."}
        log.info(
            "connection %s (#%s) initiated by %s for %s",
            connection.name,
            connection.id,
            user_id,
            spec.partner_user_id,
        )
        return {"invitation_id": invitation.id, "outbox": outbox_ids}

    def _review(self, answers: Answers, error: str) -> dict[str, Any]:
        backend = self.s.backend
        console = None if backend.can_initiate else backend.console_url
        return build_review_view(answers, error=error, console_url=console)


def _key(view: dict[str, Any]) -> str:
    """The wizard's key (its view's external_id), or "" for one the bot didn't make."""
    key = view.get("external_id")
    return key if isinstance(key, str) and KEY_RE.fullmatch(key) else ""


def _as_step(name: str | None) -> Step | None:
    try:
        return Step(name) if name else None
    except ValueError:
        return None


def _trouble(
    view: dict[str, Any], problem: str, *, title: str = "Exalate node unavailable"
) -> dict[str, Any]:
    """The node or the database failed (down, slow, refusing): say so on the step's first
    field; the answers stay where they are."""
    for block in view.get("blocks") or []:
        if block.get("type") == "input" and block.get("block_id"):
            return _errors({block["block_id"]: problem})
    return _update(build_message_view(title, problem))


async def open_wizard(
    services: Services,
    client: AsyncWebClient,
    respond: Any,
    trigger_id: str,
    team_id: str,
    user_id: str,
) -> None:
    try:
        await ConnectWizard(services).open(
            client, trigger_id=trigger_id, team_id=team_id, user_id=user_id
        )
    except SLACK_FAILURES as exc:
        error = slack_error(exc)
        log.warning("views.open for the wizard failed: %s", error)
        if respond is not None:
            await respond(
                text=f":warning: I couldn't open the wizard (`{error}`). Try again.",
                response_type="ephemeral",
            )
