"""The `/exalate connect` wizard's flow: open, submit a step, go back, close, the project
type-ahead; the review's submission initiates (initiate.py).

The answers so far travel with the modal, in its private_metadata (metadata.py): Slack
hands them back with the next submission, so Back, another replica and a restarted bot all
find them, and moving a step touches no database. Answers too long for Slack's 3,000
characters go to the draft table instead, keyed by the view's external_id. Each step is
looked up in the step table (steps.py). Submissions return what to acknowledge Slack with;
slow work (the DM, the notice) runs after the acknowledgement.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.exc import SQLAlchemyError

from bot.backend.base import BackendError
from bot.services import Services
from bot.slack.errors import SLACK_FAILURES, slack_error
from bot.slack.payloads import read_state
from bot.slack.refusals import too_late, trigger_gone
from bot.wizard import steps, texts
from bot.wizard.checks import Asking
from bot.wizard.initiate import Initiation
from bot.wizard.metadata import WizardMetadata, view_key
from bot.wizard.review import build_approval_view, build_result_view
from bot.wizard.rules import Answers, Errors, Step
from bot.wizard.views import build_project_options, build_wizard_message_view
from storage import repo
from storage.db import one_statement, transaction

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    """What to acknowledge the submission with, and what to do after the acknowledgement."""

    response: dict[str, Any]
    after: Callable[[], Awaitable[None]] | None = None


def _update(view: dict[str, Any]) -> dict[str, Any]:
    return {"response_action": "update", "view": view}


def _errors(errors: Errors) -> dict[str, Any]:
    return {"response_action": "errors", "errors": errors}


EXPIRED = _update(build_wizard_message_view(texts.EXPIRED_TITLE, texts.EXPIRED))


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

    async def _load(
        self, metadata: WizardMetadata, key: str, *, team_id: str, user_id: str
    ) -> Answers | None:
        """The answers so far: from the view itself, or from the draft table when they didn't
        fit in it. None when the view isn't this user's open wizard."""
        if metadata.answers is not None:
            return metadata.carried_answers(team_id=team_id, user_id=user_id)
        return await self._draft(key, team_id=team_id, user_id=user_id)

    async def _draft(self, key: str, *, team_id: str, user_id: str) -> Answers | None:
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

    def _console_url(self) -> str | None:
        backend = self.s.backend
        return None if backend.can_initiate else backend.console_url

    async def _build(
        self, key: str, step: Step, answers: Answers, *, team_id: str, user_id: str
    ) -> dict[str, Any]:
        """The view of this step, carrying the answers so far (see the module's docstring)."""
        load = steps.SPECS[step].load
        node_says = await load(self.s) if load is not None else {}  # e.g. the projects
        view = steps.build_step_view(
            step,
            answers,
            local_instance=await self.s.backend.instance_name(),
            default_channel=self.s.settings.exalate_notify_channel,
            console_url=self._console_url(),
            **node_says,
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
        carried = WizardMetadata(step=step, team=team_id, user=user_id, answers=answers)
        metadata = carried.encode()
        if metadata is None:  # too long for the view: the draft table keeps them
            await self._save(key, step, answers, team_id=team_id, user_id=user_id)
            # a step and two ids of Slack's shape: far below 3,000 ("" only if not)
            metadata = carried.spilled().encode() or ""
        return view | {"external_id": key, "private_metadata": metadata}

    async def closed(self, *, view: dict[str, Any], team_id: str, user_id: str) -> None:
        """Closing the modal drops its draft, if its answers had to go to the table."""
        metadata = WizardMetadata.of_view(view)
        if metadata is not None and metadata.answers is not None:
            return
        key = view_key(view)
        if await self._draft(key, team_id=team_id, user_id=user_id) is None:
            return
        async with transaction(self.s.sessions) as session:
            await repo.delete_draft(session=session, view_key=key)

    async def project_options(self, query: str) -> dict[str, Any]:
        try:
            page = await self.s.backend.search_projects(query, limit=100)
        except BackendError:
            return {"options": []}
        return build_project_options(page.projects)

    # --- moving between steps --------------------------------------------------------

    async def _open_step(
        self, view: dict[str, Any], *, team_id: str, user_id: str
    ) -> tuple[Step, Answers] | None:
        """The step this view asks and the answers so far; None if it isn't this user's
        open wizard (forged, finished, someone else's)."""
        metadata = WizardMetadata.of_view(view)
        if metadata is None or metadata.wizard_step is None:
            return None
        answers = await self._load(metadata, view_key(view), team_id=team_id, user_id=user_id)
        return None if answers is None else (metadata.wizard_step, answers)

    async def back(
        self, client: AsyncWebClient, *, team_id: str, user_id: str, view: dict[str, Any]
    ) -> None:
        """Back keeps what the admin typed on this step, unvalidated, and shows the last one."""
        opened = await self._open_step(view, team_id=team_id, user_id=user_id)
        if opened is None:
            return
        step, answers = opened
        answers |= steps.kept_on_back(step, _values(view), answers)
        previous = steps.previous_step(step, answers)
        who = {"team_id": team_id, "user_id": user_id}
        try:
            new_view = await self._build(view_key(view), previous, answers, **who)
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
        key = view_key(view)
        opened = await self._open_step(view, team_id=team_id, user_id=user_id)
        if opened is None or not key:
            return Outcome(EXPIRED)
        step, answers = opened
        values = _values(view)
        who = {"team_id": team_id, "user_id": user_id}
        if steps.initiates(step):
            return await self._initiate(client, key, view, answers, values, **who)
        ask = Asking(services=self.s, client=client, **who)
        try:
            update, errors = await steps.check_step(step, ask, values, answers)
        except BackendError as exc:
            log.warning("backend unavailable at step %s: %s", step, exc)
            return Outcome(_trouble(view, str(exc)))
        except (SQLAlchemyError, OSError) as exc:  # the name check needs the database
            log.warning("database unavailable at step %s: %s", step, type(exc).__name__)
            return Outcome(_trouble(view, texts.DATABASE_AWAY, title=texts.DATABASE_AWAY_TITLE))
        if errors:
            return Outcome(_errors(errors))
        answers |= update
        following = steps.next_step(step, answers)
        try:
            next_view = await self._build(key, following, answers, **who)
        except BackendError as exc:
            log.warning("backend unavailable building %s: %s", following, exc)
            return Outcome(_trouble(view, str(exc)))
        return Outcome(_update(next_view))

    # --- initiating ------------------------------------------------------------------

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
        who = {"team_id": team_id, "user_id": user_id}
        initiation = Initiation(self.s)
        ran, result = await initiation.once(client, key, answers, values, **who)
        if "step" in result:  # an answer is missing: back to that step
            return Outcome(_update(await self._build(key, Step(result["step"]), answers, **who)))
        if "error" in result:
            if result.get("field"):
                return Outcome(_errors({result["field"]: result["error"]}))
            review = steps.build_review_view(
                answers,
                error=result["error"],
                console_url=self._console_url(),
                approvals=self.s.approvers is not None,
            )
            return Outcome(_update(await self._carry(review, key, Step.REVIEW, answers, **who)))
        if "approval_id" in result:  # four eyes: the approvers decide, nothing went out
            waiting = build_approval_view(answers, approvers=result["approvers"])
            return Outcome(_update(waiting), after=self._send(result["outbox"]) if ran else None)
        if "connection_id" in result:  # no code: where the admin finishes it
            created = initiation.created_view(answers, active=bool(result["active"]))
            return Outcome(_update(created), after=self._send(result["outbox"]) if ran else None)
        code = await initiation.code(result["invitation_id"])
        if not ran:
            return Outcome(_update(build_result_view(answers, code=code, delivery=texts.SEEN)))
        after = initiation.delivery(
            client,
            view_id=str(view.get("id")),
            answers=answers,
            code=code,
            outbox_ids=result["outbox"],
        )
        return Outcome(_update(build_result_view(answers, code=code)), after=after)

    def _send(self, outbox_ids: list[int]) -> Callable[[], Awaitable[None]]:
        async def send() -> None:
            await self.s.deliver(outbox_ids)

        return send


def _values(view: dict[str, Any]) -> dict[str, Any]:
    """The typed values of a submitted (or Back-clicked) view, as plain answers."""
    state = view.get("state") if isinstance(view.get("state"), dict) else {}
    return read_state(state.get("values"))


def _trouble(
    view: dict[str, Any], problem: str, *, title: str = texts.NODE_AWAY_TITLE
) -> dict[str, Any]:
    """The node or the database failed (down, slow, refusing): say so on the step's first
    field; the answers stay where they are."""
    for block in view.get("blocks") or []:
        if block.get("type") == "input" and block.get("block_id"):
            return _errors({block["block_id"]: problem})
    return _update(build_wizard_message_view(title, problem))


async def open_wizard(
    services: Services,
    client: AsyncWebClient,
    respond: Any,
    trigger_id: str,
    team_id: str,
    user_id: str,
    *,
    again: str = "run `/exalate connect` again",
) -> None:
    """Open the wizard after the acknowledgement; what Slack refuses (an expired trigger,
    a 429...) is told through `respond` (`again`: how to try again), never raised."""
    try:
        await ConnectWizard(services).open(
            client, trigger_id=trigger_id, team_id=team_id, user_id=user_id
        )
    except SLACK_FAILURES as exc:
        error = slack_error(exc)
        log.warning("views.open for the wizard failed: %s", error)
        text = too_late(again) if trigger_gone(exc) else texts.cannot_open(error)
        if respond is not None:
            await respond(text=text, response_type="ephemeral")
    except BackendError as exc:  # the first step asks the node for its name
        log.warning("backend unavailable opening the wizard: %s", exc)
        if respond is not None:
            await respond(text=f":warning: {exc}", response_type="ephemeral")
