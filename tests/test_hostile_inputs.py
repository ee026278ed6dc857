"""Hostile and odd inputs through the real bot over HTTP.

Every free-text place a person can type into (the wizard's fields, the partner's Accept and
Decline modals, `/exalate` arguments) gets empty, huge, control-character, NUL, emoji, RTL,
mention, mrkdwn, SQL, HTML and format-string text; forged buttons, forged views and malformed
payloads come in correctly signed. For each input:

- the bot answers 200 (401 for a forged signature, a 4xx at most for a body Slack would never
  send), never a 500 and never a traceback, logs no listener failure, and `/exalate help`
  still answers afterwards;
- a refusal is a field error naming the field, or an ephemeral message;
- whatever is accepted is stored as given (stripped; a lone surrogate becomes U+FFFD) and
  renders safely wherever it is shown again: no `<!channel>`, `<!here>`, `<@U0OTHER>`… in any
  mrkdwn the emulator saw, and every view and message passed Slack's validation (the `slack`
  fixture checks `problems`) and the limits slack_sdk doesn't check (field texts, options);
- nothing that belongs to someone else changes.

A subset runs against PostgreSQL too, which rejects NUL bytes in text.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import pytest

from bot.clock import FakeClock
from bot.commands.views import build_cancel_question
from bot.devtools.slack_requests import (
    SlackResponse,
    block_actions_payload,
    command_payload,
    sign,
    view_submission_payload,
)
from bot.invitations.messages import admin_actions
from bot.slack.text import check_text
from bot.wizard.rules import check_connection_name
from storage.models import (
    AuditEvent,
    Connection,
    Invitation,
    LocalNodeConnection,
    WizardDraft,
)
from tests import specs
from tests.harness import (
    WIZARD,
    Admin,
    RunningBot,
    World,
    db_rows,
    eventually,
    make_settings,
    start_bot,
)
from tests.property_kit import limit_problems
from tests.slack_emulator import SlackEmulator

FORM = "application/x-www-form-urlencoded"
# Mentions and links that may only come from user text: the bot never writes them itself.
FORBIDDEN = ("<!channel>", "<!here>", "<!everyone>", "<@U0OTHER>", "<#C123>")
SLACK_TEXT_MAX = 40_000  # Slack truncates a message's text beyond this
ANSWER_WITHIN = 2.0  # seconds to wait for the bot's visible answer after its ack


# --- the inputs ---------------------------------------------------------------------------

TEXTS = [
    pytest.param("", id="empty"),
    pytest.param("   \t \n  ", id="whitespace_only"),
    pytest.param("a" * 3000, id="3000_chars"),
    pytest.param("x" * 100_000, id="100000_chars"),
    pytest.param("bell\x07 esc\x1b[31m del\x7f", id="control_chars"),
    pytest.param("nul\x00byte", id="nul_byte"),
    pytest.param("\x00", id="only_nul"),
    pytest.param("🚀 launch 🎉", id="emoji"),
    pytest.param("👩‍👩‍👧‍👦 family 🏳️‍🌈", id="emoji_zwj"),
    pytest.param("\u202eevil\u202c مرحبا بالعالم שלום", id="right_to_left"),
    pytest.param("Z\u0337\u0359a\u0336l\u0338g\u0335o\u0301\u0301\u0301", id="combining_marks"),
    pytest.param("hey <!channel> look", id="at_channel"),
    pytest.param("<!here> now", id="at_here"),
    pytest.param("ping <@U0OTHER> and <!everyone>", id="user_mention"),
    pytest.param("see <#C123>", id="channel_link"),
    pytest.param("*bold* _it_ ~strike~ <https://evil.example|click>", id="mrkdwn"),
    pytest.param("```\ncode\n``` `tick`", id="backticks"),
    pytest.param("'; DROP TABLE connection; --", id="sql_injection"),
    pytest.param("<script>alert(1)</script>&amp;", id="html_script"),
    pytest.param("%s %d %(x)s {} {0} {name!r} $(id)", id="format_strings"),
    pytest.param("line1\r\nline2\u2028line3", id="line_separators"),
    pytest.param("lone \ud800 surrogate", id="lone_surrogate"),
]
NASTIEST = {
    "nul_byte",
    "only_nul",
    "control_chars",
    "100000_chars",
    "3000_chars",
    "lone_surrogate",
    "emoji_zwj",
    "right_to_left",
    "at_channel",
    "sql_injection",
}
NASTIEST_TEXTS = [p for p in TEXTS if p.id in NASTIEST]

URLS = [
    pytest.param("https://partnerco.example.com/<!channel>", id="url_with_at_channel"),
    pytest.param("https://partnerco.example.com|<!here>", id="url_with_pipe_and_here"),
    pytest.param("https://partnerco.example.com/><@U0OTHER>", id="url_closing_the_link"),
    pytest.param("javascript:alert(1)//partnerco.example.com", id="javascript_scheme"),
    pytest.param("https://partnerco.example.com/';DROP%20TABLE%20connection;--", id="url_sql"),
    pytest.param("https://partnerco.example.com:99999", id="port_out_of_range"),
    pytest.param("https://partner\x00co.example.com", id="url_nul"),
    pytest.param("http://[::1", id="broken_ipv6"),
    pytest.param("https://例え.テスト/👩‍👩‍👧‍👦", id="idn_and_emoji"),
    pytest.param("https://partnerco.example.com/" + "a" * 2100, id="url_2100_chars"),
    pytest.param("https://partnerco.example.com/?q=" + "&" * 1960, id="url_1990_ampersands"),
]

SLASH = [
    pytest.param("status \x00", id="status_nul"),
    pytest.param("status acme_to_partnerco\x00", id="status_name_then_nul"),
    pytest.param("list ' OR 1=1 --", id="list_sql"),
    pytest.param("list \x00", id="list_nul"),
    pytest.param("status " + "y" * 100_000, id="status_100000_chars"),
    pytest.param("x" * 100_000, id="junk_100000_chars"),
    pytest.param("status '; DROP TABLE connection; --", id="status_sql"),
    pytest.param("status <!channel>", id="status_at_channel"),
    pytest.param("cancel <@U0OTHER>", id="cancel_mention"),
    pytest.param("resend <!here>", id="resend_at_here"),
    pytest.param("resend %s%s%s {0} {}", id="resend_format_strings"),
    pytest.param("status %", id="status_like_wildcard"),
    pytest.param("status acme\\_to\\_%", id="status_escaped_wildcards"),
    pytest.param("status 👩‍👩‍👧‍👦", id="status_emoji_zwj"),
    pytest.param("status \u202eocrentrap_ot_emca", id="status_right_to_left"),
    pytest.param("cancel " + "`" * 50, id="cancel_backticks_only"),
    pytest.param("\t\n status \n acme_to_partnerco \t", id="status_odd_whitespace"),
]
NASTIEST_SLASH = [
    p
    for p in SLASH
    if p.id in {"status_nul", "list_nul", "status_100000_chars", "status_name_then_nul"}
]

FORGED_VALUES = [
    pytest.param("999999", id="unknown_id"),
    pytest.param("-1", id="negative"),
    pytest.param("abc", id="letters"),
    pytest.param("1 OR 1=1", id="sql"),
    pytest.param("", id="empty"),
    pytest.param("0", id="zero"),
    pytest.param("²", id="superscript_two"),
    pytest.param("9" * 30, id="huge_id"),
    pytest.param("{other}", id="other_partners_invitation"),
    pytest.param("{other}\x00", id="other_id_then_nul"),
]

LIST_PAGE_VALUES = [
    pytest.param('{"filter": "all", "offset": 1e999}', id="offset_infinity"),
    pytest.param('{"filter": "all", "offset": 99999999999999999999999}', id="offset_huge"),
    pytest.param('{"filter": "all", "offset": "-5"}', id="offset_negative_string"),
    pytest.param('{"filter": {"$ne": 1}, "offset": 0}', id="filter_object"),
    pytest.param("[]", id="json_list"),
    pytest.param("null", id="json_null"),
    pytest.param("not json", id="not_json"),
    pytest.param('{"filter": "pending\\u0000", "offset": NaN}', id="nan_offset"),
]


# --- the harness ------------------------------------------------------------------------


@dataclass(repr=False)
class Hostile:
    """The running bot, the workspace, and every HTTP answer the bot gave."""

    bot: RunningBot
    slack: SlackEmulator
    clock: FakeClock
    answers: list[SlackResponse] = field(default_factory=list)
    crashes: list[str] = field(default_factory=list)  # ERROR log records: a listener failed
    handler: logging.Handler | None = None

    @property
    def sender(self) -> Any:
        assert self.bot.sender is not None
        return self.bot.sender

    @property
    def world(self) -> World:
        return World(self.bot, self.slack, self.clock)

    async def stop(self) -> None:
        if self.handler is not None:
            logging.getLogger().removeHandler(self.handler)
        await self.bot.stop()


class _Crashes(logging.Handler):
    def __init__(self, into: list[str]) -> None:
        super().__init__(logging.ERROR)
        self.into = into

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()[:200]
        error = record.exc_info[1] if record.exc_info else None
        if error is not None and type(error).__name__ not in message:
            message += f" ({type(error).__name__})"
        if error is not None:
            message += f": {str(error)[:200]}"
        self.into.append(f"{record.name}: {message}")


async def start_hostile(slack: SlackEmulator, url: str, clock: FakeClock) -> Hostile:
    settings = make_settings(slack, url, exalate_notify_channel="CNOTICE")
    bot = await start_bot(slack, settings, clock=clock)
    h = Hostile(bot=bot, slack=slack, clock=clock)
    handler = _Crashes(h.crashes)
    logging.getLogger().addHandler(handler)
    h.handler = handler
    sender = h.sender
    original = sender.post

    async def recording_post(*args: Any, **kwargs: Any) -> SlackResponse:
        response = await original(*args, **kwargs)
        h.answers.append(response)
        return response

    sender.post = recording_post
    return h


@pytest.fixture
async def h(slack: SlackEmulator, tmp_path, clock: FakeClock) -> AsyncIterator[Hostile]:
    running = await start_hostile(slack, f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}", clock)
    yield running
    await running.stop()


@pytest.fixture
async def pg(slack: SlackEmulator, postgres_url: str, clock: FakeClock) -> AsyncIterator[Hostile]:
    running = await start_hostile(slack, postgres_url, clock)
    yield running
    await running.stop()


# --- what the bot showed ------------------------------------------------------------------


def _mrkdwn(node: Any) -> Iterator[str]:
    """Every mrkdwn text in a view, a message or its blocks (plain_text can't ping)."""
    if isinstance(node, dict):
        if node.get("type") == "mrkdwn" and isinstance(node.get("text"), str):
            yield node["text"]
        for value in node.values():
            yield from _mrkdwn(value)
    elif isinstance(node, list):
        for item in node:
            yield from _mrkdwn(item)


def _message_texts(message: dict[str, Any]) -> Iterator[str]:
    if isinstance(message.get("text"), str) and message.get("mrkdwn", True) is not False:
        yield message["text"]
    yield from _mrkdwn(message.get("blocks"))


def as_stored(text: str) -> str:
    """Text as the bot keeps it: a lone surrogate (half an emoji) becomes U+FFFD, stripped."""
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace").strip()


def shown(h: Hostile) -> list[tuple[str, str]]:
    """(where, text) for every mrkdwn text Slack would render: messages, views, replies."""
    texts: list[tuple[str, str]] = []
    for call in h.slack.calls:
        if call.method in specs.MESSAGE_METHODS:
            texts += [(call.method, t) for t in _message_texts(call.params)]
        elif call.method.startswith("views.") and isinstance(call.params.get("view"), dict):
            texts += [(call.method, t) for t in _mrkdwn(call.params["view"])]
    for body in h.slack.responses:
        texts += [("response_url", t) for t in _message_texts(body)]
    for answer in h.answers:
        body = answer.json
        if isinstance(body, dict):
            texts += [("http answer", t) for t in _message_texts(body)]
            texts += [("http answer view", t) for t in _mrkdwn(body.get("view"))]
    return texts


def sent_content(h: Hostile) -> list[tuple[str, Any]]:
    """Every view and message the bot sent or answered with."""
    content: list[tuple[str, Any]] = []
    for call in h.slack.calls:
        if call.method in specs.MESSAGE_METHODS:
            content.append((call.method, call.params.get("blocks")))
        elif call.method.startswith("views."):
            content.append((call.method, call.params.get("view")))
    content += [("response_url", body.get("blocks")) for body in h.slack.responses]
    for answer in h.answers:
        body = answer.json
        if isinstance(body, dict):
            content += [("http answer", body.get("blocks")), ("http answer", body.get("view"))]
    return content


def assert_within_slack_limits(h: Hostile) -> None:
    """The limits slack_sdk doesn't check (field texts, option values…), which Slack enforces."""
    problems: list[str] = []
    for where, content in sent_content(h):
        limit_problems(content, where, problems)
    assert not problems, problems[:5]


def assert_renders_safely(h: Hostile) -> None:
    leaks = [
        (where, token, text[:300])
        for where, text in shown(h)
        for token in FORBIDDEN
        if token in text
    ]
    assert not leaks, f"user text rendered unescaped: {leaks[:5]}"
    too_long = [(where, len(text)) for where, text in shown(h) if len(text) > SLACK_TEXT_MAX]
    assert not too_long, f"texts longer than Slack shows ({SLACK_TEXT_MAX:,}): {too_long[:5]}"


def assert_no_crash(h: Hostile, *, allowed: tuple[int, ...] = (200,)) -> None:
    bad = [(r.status, r.text[:500]) for r in h.answers if r.status not in allowed]
    assert not bad, f"the bot answered {bad[:3]}"
    traces = [r.text[:500] for r in h.answers if "Traceback" in r.text or 'File "' in r.text]
    assert not traces, f"a traceback in the reply: {traces[:2]}"


async def assert_still_works(h: Hostile) -> None:
    response = await h.sender.command("help", user_id="UOTHER")
    assert response.status == 200, response.text[:500]
    assert "/exalate connect" in (response.json or {}).get("text", "")


async def check_all(h: Hostile, *, allowed: tuple[int, ...] = (200,)) -> None:
    await assert_still_works(h)
    crashes = list(h.crashes)
    assert not crashes, f"the bot logged errors (a listener failed): {crashes[:3]}"
    assert_no_crash(h, allowed=allowed)
    assert_renders_safely(h)
    assert_within_slack_limits(h)


async def rows_of(h: Hostile, model: Any) -> list[dict[str, Any]]:
    return [row.model_dump() for row in await db_rows(h.bot, model)]


async def snapshot(h: Hostile) -> dict[str, list[dict[str, Any]]]:
    return {
        model.__name__: await rows_of(h, model)
        for model in (Connection, Invitation, LocalNodeConnection, AuditEvent)
    }


# --- driving the bot ----------------------------------------------------------------------


async def submit(h: Hostile, view_id: str, values: dict[str, Any], user: str) -> dict[str, Any]:
    response = await h.sender.submit_view(view_id, values, user_id=user)
    assert response.status == 200, (response.status, response.text[:500])
    body = response.json or {}
    assert isinstance(body, dict), response.text[:500]
    return body


def assert_field_errors(body: dict[str, Any], fields: set[str]) -> dict[str, str]:
    """A refusal: `response_action: errors`, naming only `fields`, each with a message."""
    assert body.get("response_action") == "errors", body
    errors = body["errors"]
    assert errors and set(errors) <= fields, (errors, fields)
    for name, message in errors.items():
        assert isinstance(message, str) and message.strip(), (name, message)
        assert "Traceback" not in message and len(message) <= 2000, (name, message[:300])
    return errors


async def step_with(
    h: Hostile,
    view_id: str,
    *,
    hostile: dict[str, Any],
    fixes: dict[str, Any],
    others: dict[str, Any] | None = None,
) -> set[str]:
    """Submit the hostile answers; refused ones must come back as field errors naming them,
    and are then replaced with `fixes`. Returns the hostile fields the bot accepted."""
    others = others or {}
    body = await submit(h, view_id, {**others, **hostile}, "UADMIN")
    refused: set[str] = set()
    if body.get("response_action") == "errors":
        refused = set(assert_field_errors(body, set(hostile)))
        fixed = {**others, **hostile, **{name: fixes[name] for name in refused}}
        body = await submit(h, view_id, fixed, "UADMIN")
    assert body.get("response_action") == "update", body
    return set(hostile) - refused


async def command_reply(h: Hostile, text: str, user: str = "UADMIN") -> dict[str, Any]:
    """The ephemeral reply to a slash command: in the ack, or through response_url."""
    said = len(h.slack.responses)
    response = await h.sender.command(text, user_id=user)
    assert response.status == 200, (response.status, response.text[:500])
    if response.text.strip():
        body = response.json
        assert isinstance(body, dict), response.text[:500]
        assert body.get("response_type") == "ephemeral", body
        return body
    await eventually(lambda: len(h.slack.responses) > said, within=ANSWER_WITHIN)
    return h.slack.responses[-1]


async def open_home(h: Hostile, user: str) -> None:
    published = len(h.slack.calls_to("views.publish"))
    event = {"type": "app_home_opened", "user": user, "channel": "D0HOME", "tab": "home"}
    response = await h.sender.event(event)
    assert response.status == 200
    await eventually(lambda: len(h.slack.calls_to("views.publish")) > published)


async def post_payload(h: Hostile, payload: Any) -> SlackResponse:
    """A correctly signed interaction with whatever payload (forged views, values…)."""
    return await h.sender.post(urlencode({"payload": json.dumps(payload)}), FORM)


def who(h: Hostile, user: str) -> dict[str, Any]:
    return {
        "user_id": user,
        "user_name": h.slack.users.get(user, {}).get("name"),
        "team_id": h.slack.team_id,
        "api_app_id": h.slack.app_id,
    }


# === 1. the wizard's free-text fields ======================================================


async def wizard_with(h: Hostile, text: str) -> None:
    """Push `text` into every free-text field of the wizard, initiate, and look at everything
    that shows the accepted answers again: review, DM, notice, Home, list and status."""
    admin = Admin(h.bot, h.slack)
    view_id = await admin.connect()
    accepted = await step_with(
        h,
        view_id,
        hostile={"destination_url": text},
        fixes={"destination_url": "https://partnerco.example.com"},
        others={"destination": "public"},
    )
    await admin.walk(view_id, {"mode": "script"})
    accepted |= await step_with(
        h,
        view_id,
        hostile={
            "local_short_name": text,
            "remote_short_name": text,
            "connection_name": text,
            "description": text,
        },
        fixes={
            "local_short_name": "acme",
            "remote_short_name": "partnerco",
            "connection_name": "",
            "description": "",
        },
    )
    await admin.walk(view_id, {"project_key": "SUP"})
    # nobody has that e-mail address: refused, on the e-mail (or the missing partner)
    body = await submit(h, view_id, {"partner_email": text, "note": text}, "UADMIN")
    assert_field_errors(body, {"partner_email", "partner_user_id", "note"})
    accepted |= await step_with(
        h,
        view_id,
        hostile={"note": text},
        fixes={"note": ""},
        others={"partner_user_id": "UPARTNER", "notice_channel": "CNOTICE", "partner_email": ""},
    )
    assert admin.step(view_id) == "review"
    body = await submit(h, view_id, {}, "UADMIN")
    assert body.get("response_action") == "update", body
    await eventually(lambda: "Sent to <@UPARTNER>" in json.dumps(h.slack.views[view_id]))
    await eventually(lambda: any(m["channel"] == "CNOTICE" for m in h.slack.messages))

    [connection] = await db_rows(h.bot, Connection)
    [invitation] = await db_rows(h.bot, Invitation)
    stored = {
        "destination_url": connection.destination_url,
        "local_short_name": connection.local_short_name,
        "remote_short_name": connection.remote_short_name,
        "connection_name": connection.name,
        "description": connection.description,
        "note": invitation.note,
    }
    for name in accepted:
        if name == "connection_name" and not text.strip():
            continue  # empty: derived from the short names
        assert stored[name] == as_stored(text), (name, stored[name][:200])
    for name in ("description", "note"):
        assert check_text(stored[name])[1] is None, (name, stored[name][:200])
    assert check_connection_name(connection.name)[1] is None, connection.name[:200]

    await command_reply(h, "list")
    await command_reply(h, f"status {connection.name}")
    await open_home(h, "UADMIN")
    await open_home(h, "UPARTNER")


@pytest.mark.parametrize("text", TEXTS)
async def test_wizard_free_text(h: Hostile, text: str) -> None:
    await wizard_with(h, text)
    await check_all(h)


@pytest.mark.postgres
@pytest.mark.parametrize("text", NASTIEST_TEXTS)
async def test_wizard_free_text_on_postgresql(pg: Hostile, text: str) -> None:
    await wizard_with(pg, text)
    await check_all(pg)


@pytest.mark.parametrize("url", URLS)
async def test_destination_url(h: Hostile, url: str) -> None:
    """URLs are shown again as links in the review: what is accepted must not break out."""
    admin = Admin(h.bot, h.slack)
    view_id = await admin.connect()
    accepted = await step_with(
        h,
        view_id,
        hostile={"destination_url": url},
        fixes={"destination_url": "https://partnerco.example.com"},
        others={"destination": "public"},
    )
    await admin.walk(
        view_id,
        {"mode": "script"},
        {"remote_short_name": "partnerco"},
        {"project_key": "SUP"},
        {"partner_user_id": "UPARTNER", "notice_channel": "CNOTICE"},
    )
    assert admin.step(view_id) == "review"
    await admin.walk(view_id, {})
    [connection] = await db_rows(h.bot, Connection)
    if accepted:
        assert connection.destination_url == url.strip()
        assert len(connection.destination_url) <= 2000
    await check_all(h)


# --- typed, then Back: what Back keeps must still be checked before it is used ------------


async def back_then_basic(h: Hostile, typed: dict[str, Any]) -> Connection:
    """Type into the info step without submitting, go Back, choose Basic (which skips the
    info step), and initiate."""
    admin = Admin(h.bot, h.slack)
    view_id = await admin.connect()
    await admin.walk(view_id, {"destination": "private"}, {"mode": "script"})
    assert admin.step(view_id) == "info"
    h.sender.fill(view_id, typed)
    assert await admin.back(view_id) == "mode"
    await admin.walk(
        view_id,
        {"mode": "basic"},
        {"project_key": "SUP"},
        {"partner_user_id": "UPARTNER", "notice_channel": "CNOTICE"},
    )
    assert admin.step(view_id) == "review"
    body = await submit(h, view_id, {}, "UADMIN")
    assert body.get("response_action") == "update", body
    [connection] = await db_rows(h.bot, Connection)
    return connection


BACK_TYPED = [
    pytest.param({"description": "d" * 5000}, id="description_5000_chars"),
    pytest.param({"description": "nul\x00byte"}, id="description_nul"),
    pytest.param({"description": "<!channel> \x1b[31m"}, id="description_control_chars"),
]


@pytest.mark.parametrize("typed", BACK_TYPED)
async def test_typed_then_back_then_basic(h: Hostile, typed: dict[str, Any]) -> None:
    connection = await back_then_basic(h, typed)
    assert check_text(connection.description)[1] is None, connection.description[:200]
    await check_all(h)


@pytest.mark.postgres
@pytest.mark.parametrize("typed", BACK_TYPED)
async def test_typed_then_back_then_basic_on_postgresql(pg: Hostile, typed: dict[str, Any]) -> None:
    connection = await back_then_basic(pg, typed)
    assert check_text(connection.description)[1] is None, connection.description[:200]
    await check_all(pg)


async def test_forged_back_cannot_set_answers_of_other_steps(h: Hostile) -> None:
    """Back stores what the view's state holds; a forged state naming fields of other steps
    must not slip unchecked values (a name with <!channel>) past the info step's checks."""
    admin = Admin(h.bot, h.slack)
    view_id = await admin.connect()
    await admin.walk(
        view_id,
        {"destination": "private"},
        {"mode": "script"},
        {"remote_short_name": "partnerco"},
        {"project_key": "SUP"},
    )
    assert admin.step(view_id) == "partner"
    payload = block_actions_payload(
        action_id="wizard_back",
        trigger_id=h.slack.issue_trigger_id(),
        view=h.slack.views[view_id],
        **who(h, "UADMIN"),
    )
    payload["view"]["state"]["values"]["connection_name"] = {
        "connection_name": {"type": "plain_text_input", "value": "<!channel> " + "n" * 200}
    }
    updates = len(h.slack.calls_to("views.update"))
    response = await post_payload(h, payload)
    assert response.status == 200
    await eventually(lambda: len(h.slack.calls_to("views.update")) > updates)
    assert admin.step(view_id) == "project"
    await admin.walk(
        view_id,
        {"project_key": "SUP"},
        {"partner_user_id": "UPARTNER", "notice_channel": "CNOTICE"},
    )
    await admin.walk(view_id, {})
    [connection] = await db_rows(h.bot, Connection)
    await command_reply(h, f"status {connection.name}")
    await command_reply(h, f"resend {connection.name}")
    assert_renders_safely(h)
    assert check_connection_name(connection.name)[1] is None, connection.name
    await check_all(h)


# === 2. unknown users and channels ==========================================================


@pytest.mark.parametrize(
    ("values", "field"),
    [
        pytest.param({"partner_user_id": "UNOSUCH"}, "partner_user_id", id="partner_UNOSUCH"),
        pytest.param({"partner_user_id": "U0OTHER"}, "partner_user_id", id="partner_U0OTHER"),
        pytest.param(
            {"partner_user_id": "<!channel>"}, "partner_user_id", id="partner_is_a_mention"
        ),
        pytest.param(
            {"partner_user_id": "UPARTNER", "notice_channel": "CNOSUCH"},
            "notice_channel",
            id="channel_CNOSUCH",
        ),
        pytest.param(
            {"partner_user_id": "UPARTNER", "notice_channel": "'; DROP TABLE connection; --"},
            "notice_channel",
            id="channel_sql",
        ),
        pytest.param(
            {"partner_email": "nobody@nosuch.example"}, "partner_email", id="email_nobody"
        ),
        pytest.param(
            {"partner_email": "<!channel>@partnerco.com"}, "partner_email", id="email_mention"
        ),
    ],
)
async def test_unknown_partner_or_channel(h: Hostile, values: dict[str, Any], field: str) -> None:
    admin = Admin(h.bot, h.slack)
    view_id = await admin.connect()
    await admin.walk(
        view_id,
        {"destination": "private"},
        {"mode": "script"},
        {"remote_short_name": "partnerco"},
        {"project_key": "SUP"},
    )
    body = await submit(h, view_id, values, "UADMIN")
    errors = assert_field_errors(body, set(values) | {"partner_user_id"})
    assert field in errors, errors
    assert await db_rows(h.bot, Connection) == []
    await check_all(h)


async def test_events_and_commands_from_unknown_users(h: Hostile) -> None:
    response = await h.sender.event(
        {"type": "app_home_opened", "user": "UNOSUCH", "channel": "D0X", "tab": "home"}
    )
    assert response.status == 200
    for text in ("connect", "list"):
        reply = await command_reply(h, text, user="UNOSUCH")
        assert "Only Exalate admins" in reply["text"] or "couldn't check" in reply["text"], reply
    assert h.slack.calls_to("views.open") == []
    await check_all(h)


async def test_a_partner_whose_slack_name_is_hostile(h: Hostile) -> None:
    """Basic mode derives the destination's name from the partner's Slack name."""
    h.slack.add_user("UEVIL", name="<!channel> '; DROP TABLE connection; --", real_name="\x00")
    admin = Admin(h.bot, h.slack)
    view_id = await admin.connect()
    await admin.walk(
        view_id,
        {"destination": "private"},
        {"mode": "basic"},
        {"project_key": "SUP"},
        {"partner_user_id": "UEVIL", "notice_channel": "CNOTICE"},
        {},
    )
    [connection] = await db_rows(h.bot, Connection)
    assert check_connection_name(connection.name)[1] is None, connection.name
    await eventually(lambda: any(m["channel"] == "CNOTICE" for m in h.slack.messages))
    await check_all(h)


# === 3. the partner's modals: Accept (code, project) and Decline (reason) =================


async def open_partner_modal(h: Hostile, action: str) -> str:
    world = h.world
    await world.click(action, world.dms("UPARTNER")[0], "UPARTNER")
    return h.slack.calls_to("views.open")[-1].response["view"]["id"]


@pytest.mark.parametrize("action", ["partner_snooze_day", "partner_snooze_monday"])
async def test_partner_buttons_on_the_home_tab(h: Hostile, action: str) -> None:
    """The Home tab shows the partner's buttons too; a click there has no response_url, so
    the answer has to come another way (a refreshed Home, as for the admin's buttons)."""
    await h.world.initiate()
    await open_home(h, "UPARTNER")
    [before] = await db_rows(h.bot, Invitation)
    home_id = h.slack.home_views["UPARTNER"]["id"]
    problem = await answered(
        h,
        lambda: h.sender.click(action_id=action, view_id=home_id, user_id="UPARTNER"),
        lambda: len(h.slack.calls_to("views.publish")) + len(h.slack.responses),
    )
    assert problem is None, problem
    snoozed = [a for a in await db_rows(h.bot, AuditEvent) if a.action == "snoozed"]
    assert [a.actor for a in snoozed] == ["UPARTNER"]  # (a day from now may be the same time)
    del before
    await check_all(h)


async def accept_with(h: Hostile, text: str) -> None:
    world = h.world
    code = await world.initiate()
    view_id = await open_partner_modal(h, "partner_accept")
    body = await submit(h, view_id, {"code": text, "partner_project": "SUPPORT"}, "UPARTNER")
    errors = assert_field_errors(body, {"code", "partner_project"})
    assert "code" in errors, errors
    assert await world.state() == ("PENDING", "PENDING")

    body = await submit(h, view_id, {"code": code, "partner_project": text}, "UPARTNER")
    if body.get("response_action") == "errors":
        assert_field_errors(body, {"partner_project"})
        assert await world.state() == ("PENDING", "PENDING")
    else:
        assert body.get("response_action") == "update", body
        assert await world.state() == ("ACTIVE", "REDEEMED")
        [connection] = await db_rows(h.bot, Connection)
        assert connection.partner_project == (as_stored(text)[:255] or None)
        await eventually(lambda: any("is active" in m["text"] for m in world.dms("UADMIN")))
    await command_reply(h, "status acme_to_partnerco")


async def decline_with(h: Hostile, text: str) -> None:
    world = h.world
    await world.initiate()
    view_id = await open_partner_modal(h, "partner_decline")
    body = await submit(h, view_id, {"reason": text}, "UPARTNER")
    if body.get("response_action") == "errors":
        assert_field_errors(body, {"reason"})
        assert await world.state() == ("PENDING", "PENDING")
    else:
        assert body.get("response_action") == "update", body
        assert await world.state() == ("DECLINED", "REVOKED")
        [declined] = [a for a in await db_rows(h.bot, AuditEvent) if a.action == "declined"]
        assert declined.detail == as_stored(text)[:1000], declined.detail[:200]
        await eventually(lambda: any("declined" in m["text"] for m in world.dms("UADMIN")))
    await command_reply(h, "status acme_to_partnerco")


@pytest.mark.parametrize("text", TEXTS)
async def test_accept_modal(h: Hostile, text: str) -> None:
    await accept_with(h, text)
    await check_all(h)


@pytest.mark.parametrize("text", TEXTS)
async def test_decline_modal(h: Hostile, text: str) -> None:
    await decline_with(h, text)
    await check_all(h)


PG_PARTNER_TEXTS = [p for p in TEXTS if p.id in {"nul_byte", "lone_surrogate", "100000_chars"}]


@pytest.mark.postgres
@pytest.mark.parametrize("text", PG_PARTNER_TEXTS)
async def test_accept_modal_on_postgresql(pg: Hostile, text: str) -> None:
    await accept_with(pg, text)
    await check_all(pg)


@pytest.mark.postgres
@pytest.mark.parametrize("text", PG_PARTNER_TEXTS)
async def test_decline_modal_on_postgresql(pg: Hostile, text: str) -> None:
    await decline_with(pg, text)
    await check_all(pg)


# === 4. slash commands with junk ===========================================================


async def slash_with(h: Hostile, text: str) -> None:
    await h.world.initiate()
    before = await snapshot(h)
    reply = await command_reply(h, text)
    assert isinstance(reply.get("text"), str) and reply["text"].strip(), reply
    after = await snapshot(h)
    assert after["Connection"] == before["Connection"]
    assert after["Invitation"] == before["Invitation"]


@pytest.mark.parametrize("text", SLASH)
async def test_slash_command(h: Hostile, text: str) -> None:
    await slash_with(h, text)
    await check_all(h)


@pytest.mark.postgres
@pytest.mark.parametrize("text", NASTIEST_SLASH)
async def test_slash_command_on_postgresql(pg: Hostile, text: str) -> None:
    await slash_with(pg, text)
    await check_all(pg)


async def test_slash_command_as_a_non_admin_with_junk(h: Hostile) -> None:
    for text in ("status \x00", "list ' OR 1=1 --", "cancel <!channel>", "x" * 100_000):
        reply = await command_reply(h, text, user="UOTHER")
        assert "/exalate" in reply["text"] or "Only Exalate admins" in reply["text"]
    await check_all(h)


# === 5. forged button values ===============================================================


async def two_invitations(h: Hostile) -> tuple[Invitation, Invitation]:
    world = h.world
    await world.initiate()
    h.slack.add_user("UPARTNER2", name="pam", email="pam@other.example")
    other = {"partner_user_id": "UPARTNER2", "notice_channel": "CNOTICE"}
    await world.initiate(*WIZARD[:2], {"remote_short_name": "otherco"}, WIZARD[3], other, {})
    mine, theirs = await db_rows(h.bot, Invitation)
    return mine, theirs


async def answered(h: Hostile, click: Callable[[], Any], saw: Callable[[], int]) -> str | None:
    """Click; None when the bot showed an answer, else what went wrong."""
    before = saw()
    response = await click()
    if response.status != 200 or "Traceback" in response.text:
        return f"HTTP {response.status}: {response.text[:200]}"
    try:
        await eventually(lambda: saw() > before, within=ANSWER_WITHIN)
    except AssertionError:
        return "no answer after the ack (the listener crashed?)"
    return None


@pytest.mark.parametrize("value", FORGED_VALUES)
async def test_forged_button_value(h: Hostile, value: str) -> None:
    """Buttons carry an invitation or connection id; a forged one must be refused with an
    answer, and change nothing of anyone's."""
    mine, theirs = await two_invitations(h)
    value = value.replace("{other}", str(theirs.id))
    await open_home(h, "UADMIN")
    before = await snapshot(h)
    dm = h.world.dms("UPARTNER")[0]
    admin_message = {
        "channel": "C0GENERAL",
        "ts": "1.1",
        "text": "x",
        "blocks": [admin_actions(mine.connection_id)],
    }
    question = build_cancel_question(connection_id=mine.connection_id, name="acme_to_partnerco")
    cancel_message = {"channel": "C0GENERAL", "ts": "1.2", **question}
    opened = len(h.slack.calls_to("views.open"))

    def responses() -> int:
        return len(h.slack.responses)

    def published() -> int:
        return len(h.slack.calls_to("views.publish"))

    clicks: list[tuple[str, Callable[[], Any], Callable[[], int]]] = []
    for action in (
        "partner_snooze_day",
        "partner_snooze_monday",
        "partner_accept",
        "partner_decline",
    ):
        clicks.append(
            (
                f"{action} by the partner",
                lambda a=action: h.sender.click(
                    action_id=a, message=dm, user_id="UPARTNER", value=value
                ),
                responses,
            )
        )
    if value != str(theirs.id):  # an admin may act on every connection of the workspace
        for action, message in (
            ("admin_resend", admin_message),
            ("admin_cancel", admin_message),
            ("cancel_confirm", cancel_message),
        ):
            clicks.append(
                (
                    f"{action} by an admin",
                    lambda a=action, msg=message: h.sender.click(
                        action_id=a, message=msg, user_id="UADMIN", value=value
                    ),
                    responses,
                )
            )
        home_id = h.slack.home_views["UADMIN"]["id"]
        clicks.append(
            (
                "home_remind by an admin",
                lambda: h.sender.click(
                    action_id="home_remind", view_id=home_id, user_id="UADMIN", value=value
                ),
                published,
            )
        )
    problems = []
    for what, click, saw in clicks:
        problem = await answered(h, click, saw)
        if problem:
            problems.append(f"{what}: {problem}")
    assert not problems, problems
    assert len(h.slack.calls_to("views.open")) == opened, "a modal opened for a forged value"
    after = await snapshot(h)
    assert after == before, "a forged value changed stored data"
    await check_all(h)


@pytest.mark.parametrize("value", LIST_PAGE_VALUES)
async def test_forged_list_page_value(h: Hostile, value: str) -> None:
    await h.world.initiate()
    button = {
        "type": "button",
        "action_id": "list_page_older",
        "text": {"type": "plain_text", "text": "Older ▶"},
        "value": "{}",
    }
    message = {
        "channel": "C0GENERAL",
        "ts": "1.1",
        "text": "list",
        "blocks": [{"type": "actions", "block_id": "list_pages", "elements": [button]}],
    }
    problem = await answered(
        h,
        lambda: h.sender.click(
            action_id="list_page_older", message=message, user_id="UADMIN", value=value
        ),
        lambda: len(h.slack.responses),
    )
    assert problem is None, problem
    await check_all(h)


# === 6. forged views =======================================================================


async def wizard_view(h: Hostile, user: str = "UADMIN") -> str:
    admin = Admin(h.bot, h.slack, user)
    return await admin.connect()


def forged(view: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return json.loads(json.dumps(view)) | changes


FORGED_WIZARD_VIEWS = [
    pytest.param({"external_id": "0" * 32}, id="unknown_external_id"),
    pytest.param({"external_id": ""}, id="empty_external_id"),
    pytest.param({"external_id": "' OR 1=1 --"}, id="sql_external_id"),
    pytest.param({"external_id": "x" * 10_000}, id="huge_external_id"),
    pytest.param({"external_id": "nul\x00"}, id="nul_external_id"),
    pytest.param({"private_metadata": "not json"}, id="metadata_not_json"),
    pytest.param({"private_metadata": "null"}, id="metadata_null"),
    pytest.param({"private_metadata": "[]"}, id="metadata_list"),
    pytest.param({"private_metadata": '{"step": ["x"]}'}, id="metadata_step_list"),
    pytest.param({"private_metadata": '{"step": 5}'}, id="metadata_step_number"),
    pytest.param({"private_metadata": '{"step": "result"}'}, id="metadata_step_result"),
    pytest.param({"private_metadata": '{"step": "review"}'}, id="metadata_skip_to_review"),
    pytest.param({"private_metadata": '{"step": "partner"}'}, id="metadata_skip_to_partner"),
    pytest.param(
        {"private_metadata": '{"step": "mode", "team": "T0001", "user": "UADMIN", "answers": 1}'},
        id="metadata_answers_not_a_dict",
    ),
    pytest.param(
        {"private_metadata": '{"step": "mode", "team": "TELSE", "user": "UADMIN", "answers": {}}'},
        id="metadata_another_workspace",
    ),
    pytest.param(
        {"private_metadata": '{"step": "mode", "answers": {"destination": "private"}}'},
        id="metadata_nobodys_answers",
    ),
]


@pytest.mark.parametrize("changes", FORGED_WIZARD_VIEWS)
async def test_forged_wizard_view(h: Hostile, changes: dict[str, Any]) -> None:
    """A submission of a view the bot never opened: its own draft, or someone else's."""
    owners = await wizard_view(h, "UOWNER")
    view_id = await wizard_view(h)
    drafts = await rows_of(h, WizardDraft)
    view = forged(h.slack.views[view_id], **changes)
    payload = view_submission_payload(
        view,
        {"destination": "private"},
        trigger_id=h.slack.issue_trigger_id(),
        **who(h, "UADMIN"),
    )
    response = await post_payload(h, payload)
    assert response.status == 200, (response.status, response.text[:300])
    body = response.json or {}
    assert body.get("response_action") in ("update", "errors"), body
    assert await db_rows(h.bot, Connection) == []
    owner_draft = [d for d in await rows_of(h, WizardDraft) if d["user_id"] == "UOWNER"]
    assert owner_draft == [d for d in drafts if d["user_id"] == "UOWNER"]
    assert owners in h.slack.views
    await check_all(h)


async def test_someone_elses_wizard_view(h: Hostile) -> None:
    """UOTHER submits the admin's open wizard (its external_id): refused, the draft kept."""
    view_id = await wizard_view(h)
    await Admin(h.bot, h.slack).walk(view_id, {"destination": "private"})
    drafts = await rows_of(h, WizardDraft)
    payload = view_submission_payload(
        h.slack.views[view_id],
        {"mode": "script"},
        trigger_id=h.slack.issue_trigger_id(),
        **who(h, "UOTHER"),
    )
    response = await post_payload(h, payload)
    assert response.status == 200
    assert "no longer open" in response.text
    assert await rows_of(h, WizardDraft) == drafts
    await check_all(h)


FORGED_STATES = [
    pytest.param({"values": "x"}, id="values_is_a_string"),
    pytest.param({"values": [1, 2]}, id="values_is_a_list"),
    pytest.param("x", id="state_is_a_string"),
    pytest.param({"values": {"destination": "x"}}, id="block_is_a_string"),
    pytest.param(
        {
            "values": {
                "destination": {"destination": {"type": "radio_buttons", "selected_option": 1}}
            }
        },
        id="option_is_a_number",
    ),
    pytest.param(
        {
            "values": {
                "destination": {
                    "destination": {
                        "type": "radio_buttons",
                        "selected_option": {"value": ["public"]},
                    }
                }
            }
        },
        id="option_value_is_a_list",
    ),
    pytest.param(
        {
            "values": {
                "destination": {
                    "destination": {"type": "radio_buttons", "selected_option": {"value": "public"}}
                },
                "destination_url": {
                    "destination_url": {"type": "url_text_input", "value": {"$gt": ""}}
                },
            }
        },
        id="url_is_an_object",
    ),
]


@pytest.mark.parametrize("state", FORGED_STATES)
async def test_wizard_state_of_the_wrong_shape(h: Hostile, state: Any) -> None:
    view_id = await wizard_view(h)
    payload = view_submission_payload(
        h.slack.views[view_id], {}, trigger_id=h.slack.issue_trigger_id(), **who(h, "UADMIN")
    )
    payload["view"]["state"] = state
    response = await post_payload(h, payload)
    assert response.status == 200, (response.status, response.text[:300])
    body = response.json or {}
    if body.get("response_action") == "errors":
        assert set(body["errors"]) <= {"destination", "destination_url"}, body
    else:
        assert body.get("response_action") == "update", body
    await check_all(h)


@pytest.mark.parametrize(
    "metadata",
    [
        pytest.param("{other}", id="other_partners_invitation"),
        pytest.param('{"invitation": 999999}', id="unknown_invitation"),
        pytest.param('{"invitation": "2"}', id="id_as_string"),
        pytest.param('{"invitation": -1}', id="negative"),
        pytest.param('{"invitation": 99999999999999999999999}', id="huge_id"),
        pytest.param('{"invitation": 1.5}', id="float_id"),
        pytest.param("not json", id="not_json"),
        pytest.param("[]", id="json_list"),
    ],
)
async def test_forged_decline_view(h: Hostile, metadata: str) -> None:
    """The decline modal names its invitation in private_metadata: forged, it is refused
    (on the reason field) and the other partner's invitation stays as it was."""
    _, theirs = await two_invitations(h)
    metadata = metadata.replace("{other}", json.dumps({"invitation": theirs.id}))
    view_id = await open_partner_modal(h, "partner_decline")
    before = await snapshot(h)
    view = forged(h.slack.views[view_id], private_metadata=metadata)
    payload = view_submission_payload(
        view,
        {"reason": "forged"},
        trigger_id=h.slack.issue_trigger_id(),
        **who(h, "UPARTNER"),
    )
    response = await post_payload(h, payload)
    assert response.status == 200, (response.status, response.text[:300])
    assert_field_errors(response.json or {}, {"reason"})
    assert await snapshot(h) == before
    await check_all(h)


async def test_accept_view_with_someone_elses_code(h: Hostile) -> None:
    """The code decides who may accept: the other partner's code, pasted by UPARTNER."""
    world = h.world
    await world.initiate()
    h.slack.add_user("UPARTNER2", name="pam", email="pam@other.example")
    other = {"partner_user_id": "UPARTNER2", "notice_channel": "CNOTICE"}
    theirs = await world.initiate(
        *WIZARD[:2], {"remote_short_name": "otherco"}, WIZARD[3], other, {}
    )
    before = await snapshot(h)
    view_id = await open_partner_modal(h, "partner_accept")
    body = await submit(h, view_id, {"code": theirs, "partner_project": "X"}, "UPARTNER")
    assert "someone else" in assert_field_errors(body, {"code"})["code"]
    assert await snapshot(h) == before
    await check_all(h)


# === 7. malformed and forged requests ======================================================


def _form(**fields: Any) -> str:
    return urlencode(fields)


def _command(h: Hostile, **overrides: Any) -> str:
    payload = command_payload(
        text="status x",
        user_id="UADMIN",
        trigger_id=h.slack.issue_trigger_id(),
        response_url=h.slack.response_url(),
    )
    payload.update(overrides)
    return urlencode({k: v for k, v in payload.items() if v is not None})


MALFORMED: list[Any] = [
    pytest.param(lambda h: (_form(payload="not json"), FORM), id="payload_not_json"),
    pytest.param(lambda h: (_form(payload=""), FORM), id="payload_empty"),
    pytest.param(lambda h: (_form(payload="[]"), FORM), id="payload_list"),
    pytest.param(lambda h: (_form(payload="null"), FORM), id="payload_null"),
    pytest.param(lambda h: (_form(payload='"x"'), FORM), id="payload_string"),
    pytest.param(lambda h: (_form(payload="{}"), FORM), id="payload_empty_object"),
    pytest.param(
        lambda h: (_form(payload=json.dumps({"type": "block_actions"})), FORM),
        id="block_actions_without_anything",
    ),
    pytest.param(
        lambda h: (
            _form(
                payload=json.dumps(
                    {
                        "type": "block_actions",
                        "team": {"id": "T0001"},
                        "user": {"id": "UPARTNER"},
                        "actions": [{"action_id": "partner_snooze_day", "type": "button"}],
                    }
                )
            ),
            FORM,
        ),
        id="snooze_without_value_or_trigger",
    ),
    pytest.param(
        lambda h: (
            _form(
                payload=json.dumps(
                    {
                        "type": "block_actions",
                        "team": {"id": "T0001"},
                        "user": {"id": "UPARTNER"},
                        "actions": "partner_snooze_day",
                    }
                )
            ),
            FORM,
        ),
        id="actions_is_a_string",
    ),
    pytest.param(
        lambda h: (
            _form(
                payload=json.dumps(
                    {
                        "type": "view_submission",
                        "team": {"id": "T0001"},
                        "user": {"id": "UADMIN"},
                        "view": {"callback_id": "exalate_wizard"},
                    }
                )
            ),
            FORM,
        ),
        id="wizard_submission_without_view_fields",
    ),
    pytest.param(
        lambda h: (
            _form(
                payload=json.dumps(
                    {
                        "type": "view_submission",
                        "team": {"id": "T0001"},
                        "user": {"id": "UPARTNER"},
                        "view": {"callback_id": "exalate_accept", "state": {"values": {}}},
                    }
                )
            ),
            FORM,
        ),
        id="accept_submission_without_code",
    ),
    pytest.param(
        lambda h: (
            _form(
                payload=json.dumps(
                    {
                        "type": "view_closed",
                        "team": {"id": "T0001"},
                        "user": {"id": "UADMIN"},
                        "view": {"callback_id": "exalate_wizard", "external_id": ["x"]},
                    }
                )
            ),
            FORM,
        ),
        id="view_closed_external_id_list",
    ),
    pytest.param(
        lambda h: (
            _form(
                payload=json.dumps(
                    {
                        "type": "block_suggestion",
                        "team": {"id": "T0001"},
                        "user": {"id": "UADMIN"},
                        "action_id": "project_key",
                        "block_id": "project_key",
                        "value": "\x00" + "s" * 100_000,
                    }
                )
            ),
            FORM,
        ),
        id="suggestion_100000_chars",
    ),
    pytest.param(lambda h: ("{", "application/json"), id="event_body_not_json"),
    pytest.param(lambda h: ("[]", "application/json"), id="event_body_list"),
    pytest.param(
        lambda h: (
            json.dumps({"type": "event_callback", "team_id": "T0001", "event": "x"}),
            "application/json",
        ),
        id="event_is_a_string",
    ),
    pytest.param(
        lambda h: (
            json.dumps(
                {
                    "type": "event_callback",
                    "team_id": "T0001",
                    "event": {"type": "app_home_opened", "tab": "home"},
                }
            ),
            "application/json",
        ),
        id="home_opened_without_user",
    ),
    pytest.param(lambda h: ("", FORM), id="empty_body"),
    pytest.param(lambda h: ("\x00" * 1000, "text/plain"), id="binary_body"),
    pytest.param(lambda h: (_command(h, user_id=None), FORM), id="command_without_user"),
    pytest.param(lambda h: (_command(h, trigger_id=None), FORM), id="command_without_trigger"),
    pytest.param(lambda h: (_command(h, text=None), FORM), id="command_without_text"),
    pytest.param(
        lambda h: (_command(h, text="connect", trigger_id="nope"), FORM),
        id="connect_with_a_bad_trigger",
    ),
    pytest.param(
        lambda h: (_command(h, response_url="http://127.0.0.1:1/x", text="resend x"), FORM),
        id="resend_with_a_dead_response_url",
    ),
    pytest.param(lambda h: (_command(h) + "&text=second", FORM), id="command_text_twice"),
]


@pytest.mark.parametrize("make", MALFORMED)
async def test_malformed_request(h: Hostile, make: Callable[[Hostile], tuple[str, str]]) -> None:
    """Correctly signed, but a body Slack would never send: a 4xx at most, then business as
    usual."""
    body, content_type = make(h)
    response = await h.sender.post(body, content_type)
    assert response.status < 500, (response.status, response.text[:300])
    await check_all(h, allowed=(200, 400, 401, 404))


def _forge(h: Hostile, kind: str) -> dict[str, Any]:
    now = int(time.time())
    body = _command(h, text="list")
    if kind == "wrong_secret":
        return {"body": body, "timestamp": now, "signature": sign("not-the-secret", now, body)}
    if kind == "stale_timestamp":
        old = now - 600
        return {
            "body": body,
            "timestamp": old,
            "signature": sign(h.sender.signing_secret, old, body),
        }
    if kind == "future_timestamp":
        later = now + 600
        return {
            "body": body,
            "timestamp": later,
            "signature": sign(h.sender.signing_secret, later, body),
        }
    if kind == "signature_of_another_body":
        return {
            "body": body + "&x=1",
            "timestamp": now,
            "signature": sign(h.sender.signing_secret, now, body),
        }
    if kind == "garbage_signature":
        return {"body": body, "timestamp": now, "signature": "v0=" + "g" * 64}
    if kind == "timestamp_not_a_number":
        return {
            "body": body,
            "timestamp": now,
            "signature": "v0=zz",
            "headers": {"X-Slack-Request-Timestamp": "soon"},
        }
    raise AssertionError(kind)


@pytest.mark.parametrize(
    "kind",
    [
        "wrong_secret",
        "stale_timestamp",
        "future_timestamp",
        "signature_of_another_body",
        "garbage_signature",
        "timestamp_not_a_number",
    ],
)
async def test_forged_signature(h: Hostile, kind: str) -> None:
    forged_request = _forge(h, kind)
    response = await h.sender.post(
        forged_request["body"],
        FORM,
        timestamp=forged_request["timestamp"],
        signature=forged_request["signature"],
        headers=forged_request.get("headers"),
    )
    assert response.status == 401, (response.status, response.text[:300])
    assert h.slack.calls == [] or all(c.method != "views.open" for c in h.slack.calls)
    await check_all(h, allowed=(200, 401))


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(_form(payload="not json"), id="payload_not_json"),
        pytest.param(_form(payload="[]"), id="payload_list"),
        pytest.param(_form(payload=json.dumps({"type": "block_actions"})), id="payload_bare"),
    ],
)
async def test_malformed_and_unsigned(h: Hostile, body: str) -> None:
    """Nobody signed it: refused before anything reads it, whatever is inside."""
    now = int(time.time())
    response = await h.sender.post(
        body, FORM, timestamp=now, signature=sign("not-the-secret", now, body)
    )
    assert response.status == 401, (response.status, response.text[:300])
    await check_all(h, allowed=(200, 401))


# === 8. the project type-ahead =============================================================


@pytest.fixture
async def many(slack: SlackEmulator, tmp_path, clock: FakeClock) -> AsyncIterator[Hostile]:
    """A node with 150 projects, so the project step is a type-ahead (block_suggestion)."""
    settings = make_settings(
        slack,
        f"sqlite+aiosqlite:///{tmp_path / 'many.db'}",
        exalate_notify_channel="CNOTICE",
        exalate_local_projects=",".join(f"P{i}=Project {i}" for i in range(150)),
    )
    bot = await start_bot(slack, settings, clock=clock)
    yield Hostile(bot=bot, slack=slack, clock=clock)
    await bot.stop()


@pytest.mark.parametrize("text", [*NASTIEST_TEXTS, pytest.param("%", id="like_wildcard")])
async def test_project_type_ahead(many: Hostile, text: str) -> None:
    """What is typed into the project picker, and a project key Slack never offered."""
    admin = Admin(many.bot, many.slack)
    view_id = await admin.connect()
    await admin.walk(view_id, {"destination": "private"}, {"mode": "script"})
    await admin.walk(view_id, {"remote_short_name": "partnerco"})
    found = await many.sender.suggest(
        view_id, action_id="project_key", block_id="project_key", value=text, user_id="UADMIN"
    )
    assert found.status == 200, (found.status, found.text[:300])
    options = (found.json or {}).get("options")
    assert isinstance(options, list) and len(options) <= 100, found.text[:300]
    body = await submit(many, view_id, {"project_key": text or " "}, "UADMIN")
    assert_field_errors(body, {"project_key"})
    await check_all(many)
