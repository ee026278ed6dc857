"""Ada in Acme's Slack invites Pat, who is in Globex's: Pat lives the whole story in
Globex's Slack (the DM, reminders, Accept, Decline, /exalate accept, the Home tab), every
call with Globex's token; the notices and Ada's DMs go out in Acme's, with Acme's."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.clock import FakeClock
from bot.devtools.waiting import eventually
from storage.models import Connection, Invitation
from tests.harness import MONDAY, Admin, RunningBot, db_rows
from tests.slack_emulator import SlackEmulator
from tests.two_workspaces import (
    ACME,
    CLIENT_SECRET,
    GLOBEX,
    WIZARD_TO_PAT,
    companies,
    dms,
    install,
    kept_apart,
    oauth_bot_in,
    said,
    start_oauth_bot,
)


@pytest.fixture
async def slack() -> AsyncIterator[SlackEmulator]:
    async with companies() as emulator:
        yield emulator


@pytest.fixture
async def bot(
    slack: SlackEmulator, database_url: str, clock: FakeClock
) -> AsyncIterator[RunningBot]:
    async with oauth_bot_in(slack, database_url, clock, ACME, GLOBEX) as running:
        yield running


async def _initiate(bot: RunningBot, slack: SlackEmulator) -> tuple[str, str]:
    """Ada walks the wizard with Pat's e-mail; (the review's text, the code shown)."""
    admin = Admin(bot, slack, user_id="UADA")
    view_id = await admin.connect()
    await admin.walk(view_id, *WIZARD_TO_PAT)
    review = json.dumps(slack.views[view_id])
    await admin.walk(view_id, {})
    await eventually(lambda: "Sent to" in json.dumps(slack.views[view_id]))
    text = json.dumps(slack.views[view_id])
    return review, text[text.index("EXA1-") : text.index("EXA1-") + 48]


async def test_pat_is_found_in_globex_and_invited_there(
    bot: RunningBot, slack: SlackEmulator
) -> None:
    acme, globex = slack.workspace(ACME), slack.workspace(GLOBEX)
    review, code = await _initiate(bot, slack)
    assert "in Globex's Slack" in review
    assert "Pat Partner (Globex)" in review and "<@UPAT>" not in review
    await eventually(lambda: len(dms(globex, "UPAT")) == 1)
    [dm] = dms(globex, "UPAT")
    assert code in said([dm]) and "Ada Admin (Acme)" in said([dm]) and "<@UADA>" not in said([dm])
    # Pat's DM went out with Globex's token, nothing of Acme's touched Globex
    kept_apart(slack)
    card, notice = [m for m in acme.messages if m["channel"] == "CNOTICE"]
    assert "Pat Partner (Globex)" in said([notice]) and code not in said([notice])
    assert "Pat Partner (Globex)" in said([card]) and code not in said([card])
    kept_apart(slack)
    [connection] = await db_rows(bot, Connection)
    [invitation] = await db_rows(bot, Invitation)
    assert (connection.team_id, connection.partner_team_id) == (ACME, GLOBEX)
    assert (invitation.reach_team_id, invitation.partner_user_id) == (GLOBEX, "UPAT")


async def test_reminders_accept_and_home_in_globex(
    bot: RunningBot, slack: SlackEmulator, clock: FakeClock
) -> None:
    acme, globex = slack.workspace(ACME), slack.workspace(GLOBEX)
    _, code = await _initiate(bot, slack)
    await eventually(lambda: len(dms(globex, "UPAT")) == 1)
    from bot.sweep import sweep

    clock.set(MONDAY + timedelta(days=1, minutes=5))
    await sweep(bot.services)
    await eventually(lambda: len(dms(globex, "UPAT")) == 2)
    assert "Reminder 1 of" in said(dms(globex, "UPAT")[1:])
    kept_apart(slack)

    # the Home tab in Globex shows Pat what waits for them
    assert bot.sender is not None
    await bot.sender.event(
        {"type": "app_home_opened", "user": "UPAT", "tab": "home"}, team_id=GLOBEX
    )
    await eventually(lambda: "UPAT" in globex.home_views)
    assert "acme_to_globex" in json.dumps(globex.home_views["UPAT"])
    kept_apart(slack)

    # Accept, from the DM in Globex
    opened = len(slack.calls_to("views.open"))
    await bot.sender.click(
        action_id="partner_accept", message=dms(globex, "UPAT")[-1], user_id="UPAT", team_id=GLOBEX
    )
    await eventually(lambda: len(slack.calls_to("views.open")) > opened)
    call = slack.calls_to("views.open")[-1]
    assert call.team_id == GLOBEX
    view_id = call.response["view"]["id"]
    answer = await bot.sender.submit_view(
        view_id, {"code": code, "partner_project": "SUPPORT"}, user_id="UPAT"
    )
    assert answer.status == 200
    await eventually(lambda: any("is active" in said([m]) for m in dms(acme, "UADA")))
    [connection] = await db_rows(bot, Connection)
    assert connection.status == "ACTIVE"
    kept_apart(slack)
    assert "Pat Partner (Globex)" in said(dms(acme, "UADA"))


async def test_accept_by_command_and_decline_in_globex(
    bot: RunningBot, slack: SlackEmulator
) -> None:
    acme, globex = slack.workspace(ACME), slack.workspace(GLOBEX)
    _, code = await _initiate(bot, slack)
    await eventually(lambda: len(dms(globex, "UPAT")) == 1)
    assert bot.sender is not None
    opened = len(slack.calls_to("views.open"))
    await bot.sender.command("accept", user_id="UPAT", team_id=GLOBEX)
    await eventually(lambda: len(slack.calls_to("views.open")) > opened)
    call = slack.calls_to("views.open")[-1]
    assert call.team_id == GLOBEX and call.token == globex.bot_token
    answer = await bot.sender.submit_view(
        call.response["view"]["id"], {"code": code, "partner_project": "SUPPORT"}, user_id="UPAT"
    )
    assert answer.status == 200
    await eventually(lambda: any("is active" in said([m]) for m in dms(acme, "UADA")))


async def test_pat_declines_from_globex(bot: RunningBot, slack: SlackEmulator) -> None:
    acme, globex = slack.workspace(ACME), slack.workspace(GLOBEX)
    await _initiate(bot, slack)
    await eventually(lambda: len(dms(globex, "UPAT")) == 1)
    assert bot.sender is not None
    opened = len(slack.calls_to("views.open"))
    await bot.sender.click(
        action_id="partner_decline", message=dms(globex, "UPAT")[0], user_id="UPAT", team_id=GLOBEX
    )
    await eventually(lambda: len(slack.calls_to("views.open")) > opened)
    view_id = slack.calls_to("views.open")[-1].response["view"]["id"]
    await bot.sender.submit_view(view_id, {"reason": "Wrong company"}, user_id="UPAT")
    await eventually(lambda: any("declined" in said([m]) for m in dms(acme, "UADA")))
    [connection] = await db_rows(bot, Connection)
    assert connection.status == "DECLINED"
    assert "Wrong company" in said(dms(acme, "UADA"))
    kept_apart(slack)


async def test_no_bot_token_in_the_log_even_at_debug(
    slack: SlackEmulator, database_url: str, clock: FakeClock
) -> None:
    """Installs, the story's DM and notice, all logged at DEBUG (slack_sdk then logs every
    request): neither workspace's bot token appears in any record."""
    import logging

    from tests.log_records import Records

    records = Records()
    root = logging.getLogger()
    levels = {name: logging.getLogger(name).level for name in ("", "slack_sdk", "slack_bolt")}
    root.addHandler(records)
    for name in levels:
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        clock.set(MONDAY)
        running = await start_oauth_bot(slack, database_url, clock=clock, reminder_hours="")
        try:
            await install(running, slack, team=ACME, user="UADA")
            await install(running, slack, team=GLOBEX, user="UGADMIN")
            await _initiate(running, slack)
            await eventually(lambda: len(dms(slack.workspace(GLOBEX), "UPAT")) == 1)
        finally:
            await running.stop()
    finally:
        root.removeHandler(records)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
    tokens = [slack.workspace(t).bot_token for t in (ACME, GLOBEX)]
    assert all(tokens)
    logged = "\n".join(f"{r.getMessage()} {r.args!r} {r.exc_text or ''}" for r in records.records)
    assert len(records.records) > 50  # slack_sdk's request lines are in there
    assert not [t for t in tokens if t and t in logged]
    assert CLIENT_SECRET not in logged


async def test_pat_snoozes_from_globex_in_their_own_zone(
    bot: RunningBot, slack: SlackEmulator
) -> None:
    globex = slack.workspace(GLOBEX)
    await _initiate(bot, slack)
    await eventually(lambda: len(dms(globex, "UPAT")) == 1)
    assert bot.sender is not None
    answered = len(slack.responses)
    await bot.sender.click(
        action_id="partner_snooze_day",
        message=dms(globex, "UPAT")[0],
        user_id="UPAT",
        team_id=GLOBEX,
    )
    await eventually(lambda: len(slack.responses) > answered)
    assert slack.responses[-1]["text"].startswith(":zzz: Snoozed: the next reminder")
    [invitation] = await db_rows(bot, Invitation)
    assert invitation.partner_tz == "America/New_York"  # from Globex's users.lookupByEmail
    assert invitation.next_reminder_at is not None
    kept_apart(slack)
