"""`/exalate connect` end to end, over HTTP: signed requests into the bot's /slack/events, the
bot's Web API calls into the Slack emulator (which checks each against Slack's specs)."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.backend.base import BackendError, ConnectionSpec, Initiated
from bot.backend.local import LocalNode
from bot.clock import FakeClock
from bot.security import hash_code
from storage.models import AuditEvent, Connection, Invitation, LocalNodeConnection, WizardDraft
from tests.harness import (
    Admin,
    RunningBot,
    db_rows,
    eventually,
    initial_values,
    make_settings,
    start_bot,
)
from tests.slack_emulator import SlackEmulator


@pytest.fixture
def db_url(tmp_path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"


@pytest.fixture
async def bot(slack: SlackEmulator, db_url: str, clock: FakeClock) -> AsyncIterator[RunningBot]:
    running = await start_bot(
        slack, make_settings(slack, db_url, exalate_notify_channel="CNOTICE"), clock=clock
    )
    yield running
    await running.stop()


DESTINATION_PRIVATE = {"destination": "private"}
MODE_SCRIPT = {"mode": "script"}
INFO = {"remote_short_name": "partnerco", "description": "Support escalations"}
PROJECT = {"project_key": "SUP"}
PARTNER = {"partner_user_id": "UPARTNER", "notice_channel": "CNOTICE", "note": "Welcome aboard!"}


def _code_in(view: dict[str, Any]) -> str:
    text = json.dumps(view)
    start = text.index("EXA1-")
    return text[start : start + 48]


async def test_seed_path_private_script_to_dm_and_notice(
    bot: RunningBot, slack: SlackEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    admin = Admin(bot, slack)
    view_id = await admin.connect()
    assert admin.step(view_id) == "destination"

    await admin.walk(view_id, DESTINATION_PRIVATE)
    mode_view = slack.views[view_id]
    assert admin.step(view_id) == "mode"
    offered = [
        o["value"]
        for b in mode_view["blocks"]
        if b["type"] == "input"
        for o in b["element"]["options"]
    ]
    assert offered == ["basic", "script"]  # never Visual for a private destination

    await admin.walk(view_id, MODE_SCRIPT)
    assert admin.step(view_id) == "info"
    assert initial_values(slack.views[view_id])["local_short_name"] == "acme"

    await admin.walk(view_id, INFO)
    assert admin.step(view_id) == "project"
    await admin.walk(view_id, PROJECT)
    assert admin.step(view_id) == "partner"
    assert initial_values(slack.views[view_id])["notice_channel"] == "CNOTICE"
    await admin.walk(view_id, PARTNER)
    assert admin.step(view_id) == "review"
    review = json.dumps(slack.views[view_id])
    for shown in (
        "acme_to_partnerco",
        "partnerco",
        "Support (SUP)",
        "<@UPARTNER>",
        "Script",
        "Unknown (no URL)",
        "Welcome aboard!",
    ):
        assert shown in review

    body = await admin.submit(view_id, {})
    assert body["response_action"] == "update"
    result = slack.views[view_id]
    code = _code_in(result)
    assert len(code) == 48  # "EXA1-" + 43 characters: 256 random bits

    # After the acknowledgement: the DM, the notice, and the result view saying the DM went out.
    dm = await eventually(lambda: [m for m in slack.messages if m["channel"].startswith("D")])
    assert slack.calls_to("conversations.open")[0].params["users"] == "UPARTNER"
    dm_text = json.dumps(dm[0])
    for shown in (
        "<@UADMIN>",
        "acme_to_partnerco",
        "`acme`",
        "`partnerco`",
        f"```{code}```",
        "Welcome aboard!",
        "Accept invitation",
        "Confirm",
    ):
        assert shown in dm_text, shown
    notice = await eventually(lambda: [m for m in slack.messages if m["channel"] == "CNOTICE"][1:])
    assert (
        "Invitation sent to <@UPARTNER> for `acme_to_partnerco` by <@UADMIN>" in (notice[0]["text"])
    )  # under the connection's card
    await eventually(lambda: "Sent to <@UPARTNER> by DM" in json.dumps(slack.views[view_id]))

    # Stored: the connection Pending, its invitation with the code's hash, an audit trail.
    [connection] = await db_rows(bot, Connection)
    assert (connection.name, connection.status, connection.mode, connection.destination) == (
        "acme_to_partnerco",
        "PENDING",
        "script",
        "private",
    )
    assert (connection.team_id, connection.partner_user_id) == ("T0001", "UPARTNER")
    card = next(m for m in slack.messages if m["channel"] == "CNOTICE")
    assert connection.notice_ts == card["ts"] and notice[0]["thread_ts"] == card["ts"]
    [invitation] = await db_rows(bot, Invitation)
    assert invitation.code_hash == hash_code(code)
    assert (invitation.dm_channel, invitation.dm_ts) == (dm[0]["channel"], dm[0]["ts"])
    [node_record] = await db_rows(bot, LocalNodeConnection)
    assert node_record.code_hash == hash_code(code)
    assert node_record.partner_user_id == "UPARTNER"
    audit = await db_rows(bot, AuditEvent)
    assert [(a.action, a.actor, a.to_state) for a in audit] == [
        ("initiated", "UADMIN", "PENDING"),
        ("invitation_dm_sent", "system", None),
        ("card_sent", "system", None),
        ("notice_sent", "system", None),
    ]
    assert await db_rows(bot, WizardDraft) == []  # the answers travelled with the view

    # The code is a secret: in the DM and the admin's modal only.
    everywhere_but_dm = [m for m in slack.messages if not m["channel"].startswith("D")]
    assert code not in json.dumps(everywhere_but_dm)
    assert code not in json.dumps(slack.responses)
    assert code not in caplog.text
    assert "xoxb-test-token" not in caplog.text
    assert any(
        "EXA1-" not in r.getMessage() and "chat.postMessage" in r.getMessage()
        for r in caplog.records
    ), "the DM request was logged at DEBUG, masked"


async def test_public_path_offers_visual_and_derives_names(
    bot: RunningBot, slack: SlackEmulator
) -> None:
    admin = Admin(bot, slack)
    view_id = await admin.connect()
    await admin.walk(
        view_id, {"destination": "public", "destination_url": "https://partnerco.atlassian.net"}
    )
    offered = [
        o["value"]
        for b in slack.views[view_id]["blocks"]
        if b["type"] == "input"
        for o in b["element"]["options"]
    ]
    assert offered == ["basic", "visual", "script"]
    await admin.walk(view_id, {"mode": "visual"})
    shown = initial_values(slack.views[view_id])
    assert shown == {
        "local_short_name": "acme",
        "remote_short_name": "partnerco",
        "connection_name": "acme_to_partnerco",
    }
    await admin.walk(view_id, {"connection_name": "Acme-Partner"}, PROJECT)
    assert admin.step(view_id) == "notices"  # Visual makes no code: no partner to ask
    await admin.walk(view_id, {"notice_channel": "CNOTICE"})
    review = json.dumps(slack.views[view_id])
    assert "https://partnerco.atlassian.net" in review and "Visual" in review
    await admin.walk(view_id, {})
    [connection] = await db_rows(bot, Connection)
    assert (
        connection.name,
        connection.destination,
        connection.destination_url,
        connection.mode,
    ) == ("Acme-Partner", "public", "https://partnerco.atlassian.net", "visual")
    await eventually(lambda: slack.calls_to("chat.postMessage"))
    assert await db_rows(bot, Invitation) == []  # tests/test_modes_e2e.py: the rest


async def test_basic_path_skips_connection_info(bot: RunningBot, slack: SlackEmulator) -> None:
    admin = Admin(bot, slack)
    view_id = await admin.connect()
    await admin.walk(view_id, DESTINATION_PRIVATE, {"mode": "basic"})
    assert admin.step(view_id) == "project"
    await admin.walk(view_id, PROJECT, {"partner_email": "pat@partnerco.com"})
    assert admin.step(view_id) == "review"
    assert "Step 5 of 5" in json.dumps(slack.views[view_id])
    assert await admin.back(view_id) == "partner"
    assert await admin.back(view_id) == "project"
    assert await admin.back(view_id) == "mode"
    await admin.walk(view_id, {"mode": "basic"}, PROJECT, {"partner_email": "pat@partnerco.com"})
    await admin.walk(view_id, {})
    [connection] = await db_rows(bot, Connection)
    assert connection.name == "acme_to_partnerco"  # from the partner's e-mail domain
    assert connection.partner_user_id == "UPARTNER"
    assert slack.calls_to("users.lookupByEmail")
    await eventually(lambda: [m for m in slack.messages if m["channel"].startswith("D")])


async def test_basic_mode_name_gets_a_suffix_when_taken(
    bot: RunningBot, slack: SlackEmulator
) -> None:
    admin = Admin(bot, slack)
    for _ in range(2):
        view_id = await admin.connect()
        await admin.walk(
            view_id,
            DESTINATION_PRIVATE,
            {"mode": "basic"},
            PROJECT,
            {"partner_user_id": "UPARTNER"},
            {},
        )
    names = sorted(c.name for c in await db_rows(bot, Connection))
    assert names == ["acme_to_pat", "acme_to_pat_2"]


async def test_back_on_every_step_keeps_the_answers(bot: RunningBot, slack: SlackEmulator) -> None:
    admin = Admin(bot, slack)
    view_id = await admin.connect()
    url = {"destination": "public", "destination_url": "https://partnerco.example"}
    await admin.walk(view_id, url, MODE_SCRIPT, INFO, PROJECT, PARTNER)
    assert admin.step(view_id) == "review"

    assert await admin.back(view_id) == "partner"
    assert initial_values(slack.views[view_id]) == {
        "partner_user_id": "UPARTNER",
        "notice_channel": "CNOTICE",
        "note": "Welcome aboard!",
    }
    assert await admin.back(view_id) == "project"
    assert initial_values(slack.views[view_id]) == {"project_key": "SUP"}
    assert await admin.back(view_id) == "info"
    assert initial_values(slack.views[view_id]) == {
        "local_short_name": "acme",
        "remote_short_name": "partnerco",
        "connection_name": "acme_to_partnerco",
        "description": "Support escalations",
    }
    assert await admin.back(view_id) == "mode"
    assert initial_values(slack.views[view_id]) == {"mode": "script"}
    assert await admin.back(view_id) == "destination"
    assert initial_values(slack.views[view_id]) == url
    assert not any(b["type"] == "actions" for b in slack.views[view_id]["blocks"])  # no Back

    # Forward again with what is shown: every answer survived.
    for _ in range(5):
        await admin.walk(view_id, {})
    assert admin.step(view_id) == "review"
    assert "Welcome aboard!" in json.dumps(slack.views[view_id])


async def test_back_keeps_what_was_typed_on_the_current_step(
    bot: RunningBot, slack: SlackEmulator
) -> None:
    admin = Admin(bot, slack)
    view_id = await admin.connect()
    await admin.walk(view_id, DESTINATION_PRIVATE, MODE_SCRIPT)
    # typed but not submitted: Back still keeps it
    slack.views[view_id]["state"] = {
        "values": {
            "remote_short_name": {
                "remote_short_name": {"type": "plain_text_input", "value": "typed_partner"}
            }
        }
    }
    await admin.back(view_id)
    await admin.walk(view_id, MODE_SCRIPT)
    assert initial_values(slack.views[view_id])["remote_short_name"] == "typed_partner"


@pytest.mark.parametrize(
    ("pages", "values", "field", "says"),
    [
        ([], {}, "destination", "Choose"),
        ([], {"destination": "public"}, "destination_url", "Enter the destination"),
        (
            [],
            {"destination": "public", "destination_url": "https://nodot"},
            "destination_url",
            "http(s) URL",
        ),
        ([DESTINATION_PRIVATE], {}, "mode", "Choose a connection mode"),
        (
            [DESTINATION_PRIVATE, MODE_SCRIPT],
            {"remote_short_name": ""},
            "remote_short_name",
            "Enter",
        ),
        (
            [DESTINATION_PRIVATE, MODE_SCRIPT],
            {"remote_short_name": "p" * 41},
            "remote_short_name",
            "at most 40",
        ),
        (
            [DESTINATION_PRIVATE, MODE_SCRIPT],
            {"remote_short_name": "partner co"},
            "remote_short_name",
            "letters, digits",
        ),
        (
            [DESTINATION_PRIVATE, MODE_SCRIPT],
            {"remote_short_name": "p", "description": "d" * 1001},
            "description",
            "at most 1,000",
        ),
        (
            [DESTINATION_PRIVATE, MODE_SCRIPT],
            {"remote_short_name": "p", "connection_name": "a/b"},
            "connection_name",
            "letters, digits",
        ),
        ([DESTINATION_PRIVATE, MODE_SCRIPT, INFO], {}, "project_key", "Choose the project"),
        (
            [DESTINATION_PRIVATE, MODE_SCRIPT, INFO, PROJECT],
            {"notice_channel": None},
            "partner_user_id",
            "Choose the partner",
        ),
        (
            [DESTINATION_PRIVATE, MODE_SCRIPT, INFO, PROJECT],
            {"partner_user_id": "UROBOT"},
            "partner_user_id",
            "bot",
        ),
        (
            [DESTINATION_PRIVATE, MODE_SCRIPT, INFO, PROJECT],
            {"partner_user_id": "UGONE"},
            "partner_user_id",
            "deactivated",
        ),
        (
            [DESTINATION_PRIVATE, MODE_SCRIPT, INFO, PROJECT],
            {"partner_user_id": "UADMIN"},
            "partner_user_id",
            "That is you",
        ),
        (
            [DESTINATION_PRIVATE, MODE_SCRIPT, INFO, PROJECT],
            {"partner_email": "nobody@x.com"},
            "partner_email",
            "No Slack user",
        ),
        (
            [DESTINATION_PRIVATE, MODE_SCRIPT, INFO, PROJECT],
            {"partner_email": "pat@@x"},
            "partner_email",
            "e-mail address like",
        ),
        (
            [DESTINATION_PRIVATE, MODE_SCRIPT, INFO, PROJECT],
            {"partner_user_id": "UPARTNER", "notice_channel": "CPRIVATE"},
            "notice_channel",
            "add the Exalate app",
        ),
        (
            [DESTINATION_PRIVATE, MODE_SCRIPT, INFO, PROJECT],
            {"partner_user_id": "UPARTNER", "notice_channel": "CARCHIVED"},
            "notice_channel",
            "archived",
        ),
        (
            [DESTINATION_PRIVATE, MODE_SCRIPT, INFO, PROJECT],
            {"partner_user_id": "UPARTNER", "note": "n" * 1001},
            "note",
            "at most 1,000",
        ),
    ],
)
async def test_bad_answers_are_refused_inline(
    bot: RunningBot, slack: SlackEmulator, pages: list, values: dict, field: str, says: str
) -> None:
    admin = Admin(bot, slack)
    view_id = await admin.connect()
    await admin.walk(view_id, *pages)
    before = admin.step(view_id)
    errors = await admin.errors(view_id, values)
    assert says in errors[field], errors
    assert admin.step(view_id) == before  # the same view, answers kept
    assert await db_rows(bot, Connection) == []


async def test_a_connection_name_already_used_is_refused(
    bot: RunningBot, slack: SlackEmulator
) -> None:
    admin = Admin(bot, slack)
    view_id = await admin.connect()
    await admin.walk(view_id, DESTINATION_PRIVATE, MODE_SCRIPT, INFO, PROJECT, PARTNER, {})
    view_id = await admin.connect()
    await admin.walk(view_id, DESTINATION_PRIVATE, MODE_SCRIPT)
    errors = await admin.errors(view_id, {"remote_short_name": "PartnerCo"})
    assert "already a connection" in errors["connection_name"]
    await admin.walk(view_id, {"remote_short_name": "partnerco", "connection_name": "second"})
    assert admin.step(view_id) == "project"


@pytest.mark.parametrize("admins", [None, "UOWNER", "S0ADMINS"])
async def test_non_admins_are_refused_and_told_who_can(
    slack: SlackEmulator, db_url: str, clock: FakeClock, admins: str | None
) -> None:
    slack.add_usergroup("S0ADMINS", ["UOWNER", "UOTHER"])
    settings = make_settings(slack, db_url, exalate_admins=admins or "")
    bot = await start_bot(slack, settings, clock=clock)
    try:
        assert bot.sender is not None
        refused = "UOTHER" if admins != "S0ADMINS" else "UADMIN"
        response = await bot.sender.command("connect", user_id=refused)
        assert response.status == 200
        body = response.json
        assert body["response_type"] == "ephemeral"
        assert "Only Exalate admins" in body["text"]
        who = {
            None: "workspace admins and owners",
            "UOWNER": "<@UOWNER>",
            "S0ADMINS": "<!subteam^S0ADMINS>",
        }[admins]
        assert who in body["text"]
        assert slack.calls_to("views.open") == []
        allowed = "UOWNER"
        await Admin(bot, slack, allowed).connect()
        assert len(slack.calls_to("views.open")) == 1
    finally:
        await bot.stop()


async def test_restart_in_the_middle_of_the_wizard(
    slack: SlackEmulator, db_url: str, clock: FakeClock
) -> None:
    settings = make_settings(slack, db_url)
    first = await start_bot(slack, settings, clock=clock)
    admin = Admin(first, slack)
    view_id = await admin.connect()
    await admin.walk(view_id, DESTINATION_PRIVATE, MODE_SCRIPT, INFO)
    await first.stop()

    second = await start_bot(slack, settings, clock=clock)
    try:
        admin = Admin(second, slack)
        assert await admin.back(view_id) == "info"
        assert initial_values(slack.views[view_id])["remote_short_name"] == "partnerco"
        await admin.walk(view_id, {}, PROJECT, PARTNER, {})
        [connection] = await db_rows(second, Connection)
        assert connection.name == "acme_to_partnerco"
        await eventually(lambda: len(slack.messages) >= 1)
    finally:
        await second.stop()


class FailingNode(LocalNode):
    fail = True

    async def initiate(self, spec: ConnectionSpec) -> Initiated:
        if self.fail:
            raise BackendError("the node refused to create the connection (quota reached)")
        return await super().initiate(spec)


async def test_a_failed_initiate_says_why_and_keeps_the_answers(
    slack: SlackEmulator, db_url: str, clock: FakeClock
) -> None:
    def node(services):
        return FailingNode(
            sessions=services.sessions,
            instance="acme",
            projects=services.backend._projects,
            clock=clock,
        )

    bot = await start_bot(slack, make_settings(slack, db_url), clock=clock, backend=node)
    try:
        admin = Admin(bot, slack)
        view_id = await admin.connect()
        await admin.walk(view_id, DESTINATION_PRIVATE, MODE_SCRIPT, INFO, PROJECT, PARTNER, {})
        review = json.dumps(slack.views[view_id])
        assert "Could not initiate" in review and "quota reached" in review
        assert "acme_to_partnerco" in review
        assert await db_rows(bot, Connection) == [] and slack.messages == []
        FailingNode.fail = False
        await admin.walk(view_id, {})
        assert len(await db_rows(bot, Connection)) == 1
    finally:
        FailingNode.fail = True
        await bot.stop()


async def test_a_failed_dm_is_reported_to_the_admin(bot: RunningBot, slack: SlackEmulator) -> None:
    admin = Admin(bot, slack)
    view_id = await admin.connect()
    await admin.walk(view_id, DESTINATION_PRIVATE, MODE_SCRIPT, INFO, PROJECT, PARTNER)
    slack.fail_next("conversations.open", error="cannot_dm_bot")
    await admin.walk(view_id, {})
    await eventually(lambda: "couldn't DM" in json.dumps(slack.views[view_id]))
    assert "cannot_dm_bot" in json.dumps(slack.views[view_id])
    actions = [a.action for a in await db_rows(bot, AuditEvent)]
    assert actions == ["initiated", "invitation_dm_failed", "card_sent", "notice_sent"]


async def test_project_type_ahead_when_the_node_has_many(
    slack: SlackEmulator, db_url: str, clock: FakeClock
) -> None:
    projects = ",".join(f"P{i}=Project {i}" for i in range(150))
    bot = await start_bot(
        slack, make_settings(slack, db_url, exalate_local_projects=projects), clock=clock
    )
    try:
        admin = Admin(bot, slack)
        view_id = await admin.connect()
        await admin.walk(view_id, DESTINATION_PRIVATE, MODE_SCRIPT, INFO)
        [select_block] = [b for b in slack.views[view_id]["blocks"] if b["type"] == "input"]
        assert select_block["element"]["type"] == "external_select"
        assert bot.sender is not None
        found = await bot.sender.suggest(
            view_id,
            action_id="project_key",
            block_id="project_key",
            value="project 14",
            user_id="UADMIN",
        )
        values = [o["value"] for o in found.json["options"]]
        assert values == ["P14"] + [f"P{i}" for i in range(140, 150)]
        errors = await admin.errors(view_id, {"project_key": "NOPE"})
        assert "not on this node" in errors["project_key"]
        await admin.walk(view_id, {"project_key": "P14"})
        assert admin.step(view_id) == "partner"
    finally:
        await bot.stop()


async def test_the_answers_travel_with_the_view(bot: RunningBot, slack: SlackEmulator) -> None:
    """Each step's view carries the answers so far (and whose wizard it is) in its
    private_metadata: the next submission needs no draft in the database."""
    admin = Admin(bot, slack)
    view_id = await admin.connect()
    await admin.walk(view_id, DESTINATION_PRIVATE, MODE_SCRIPT, INFO)
    metadata = json.loads(slack.views[view_id]["private_metadata"])
    assert metadata["step"] == "project"
    assert (metadata["team"], metadata["user"]) == ("T0001", "UADMIN")
    assert metadata["answers"]["destination"] == "private"
    assert metadata["answers"]["description"] == "Support escalations"
    assert await db_rows(bot, WizardDraft) == []


async def test_answers_too_long_for_the_view_go_to_the_draft_table(
    bot: RunningBot, slack: SlackEmulator
) -> None:
    """Slack keeps at most 3,000 characters of a view's private_metadata. A long URL and a
    long description don't fit: the answers then live in the draft table (the view says
    whose they are), the wizard goes on and back as usual, and closing the modal drops them."""
    admin = Admin(bot, slack)
    view_id = await admin.connect()
    url = "https://jira.partner.example/" + "p" * 1900
    await admin.walk(view_id, {"destination": "public", "destination_url": url}, MODE_SCRIPT)
    assert "answers" in json.loads(slack.views[view_id]["private_metadata"])
    assert await db_rows(bot, WizardDraft) == []

    description = "Long: ünïcødé ✓ " * 60  # 960 characters, each of the last three 6 in JSON
    await admin.walk(view_id, INFO | {"description": description})
    metadata = json.loads(slack.views[view_id]["private_metadata"])
    assert metadata == {"step": "project", "team": "T0001", "user": "UADMIN"}
    [draft] = await db_rows(bot, WizardDraft)
    assert (draft.view_key, draft.step) == (slack.views[view_id]["external_id"], "project")
    assert (draft.answers["destination_url"], draft.answers["description"]) == (
        url,
        description.strip(),
    )

    assert await admin.back(view_id) == "info"  # what was typed comes back from the table
    shown = initial_values(slack.views[view_id])
    assert shown["description"] == description.strip()
    await admin.walk(view_id, {}, PROJECT, PARTNER)
    assert admin.step(view_id) == "review"
    assert url in json.dumps(slack.views[view_id])  # the review shows every answer

    assert bot.sender is not None
    await bot.sender.close_view(view_id, user_id="UADMIN")

    async def no_drafts() -> bool:
        return not await db_rows(bot, WizardDraft)

    await eventually(no_drafts)


async def test_help_and_unknown_subcommands(bot: RunningBot, slack: SlackEmulator) -> None:
    assert bot.sender is not None
    for text in ("", "help", "frobnicate"):
        response = await bot.sender.command(text, user_id="UOTHER")
        assert response.status == 200
        assert "/exalate connect" in response.json["text"]
        assert response.json["response_type"] == "ephemeral"
    assert slack.calls_to("views.open") == []


async def test_seed_path_on_postgresql(
    slack: SlackEmulator, postgres_url: str, clock: FakeClock
) -> None:
    bot = await start_bot(slack, make_settings(slack, postgres_url), clock=clock)
    try:
        admin = Admin(bot, slack)
        view_id = await admin.connect()
        await admin.walk(view_id, DESTINATION_PRIVATE, MODE_SCRIPT, INFO, PROJECT)
        assert await admin.back(view_id) == "project"
        await admin.walk(view_id, PROJECT, PARTNER, {})
        code = _code_in(slack.views[view_id])
        await eventually(lambda: len(slack.messages) == 3)  # the DM, the card, the notice
        [connection] = await db_rows(bot, Connection)
        [invitation] = await db_rows(bot, Invitation)
        assert connection.name == "acme_to_partnerco" and connection.status == "PENDING"
        assert invitation.code_hash == hash_code(code)
        assert connection.created_at == clock.now()
    finally:
        await bot.stop()
