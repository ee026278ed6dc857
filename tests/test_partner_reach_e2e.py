"""Where the app can't simply DM the partner in their own installed Slack: admins of another
workspace, a Slack Connect member whose DM Slack refuses, a partner Slack reaches nowhere,
and the partner's workspace removing the app mid-cadence, then adding it again."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.clock import FakeClock
from bot.devtools.waiting import eventually
from bot.invitations.messages import admin_actions
from bot.sweep import sweep
from storage.models import Connection, Invitation
from tests.harness import MONDAY, Admin, RunningBot, db_rows
from tests.slack_emulator import SlackEmulator
from tests.two_workspaces import (
    ACME,
    GLOBEX,
    INITECH,
    WIZARD_TO_PAT,
    companies,
    dms,
    install,
    oauth_bot_in,
    said,
)

DAY = timedelta(days=1, minutes=5)


@pytest.fixture
async def slack() -> AsyncIterator[SlackEmulator]:
    async with companies() as emulator:
        yield emulator


@pytest.fixture
async def bot(
    slack: SlackEmulator, database_url: str, clock: FakeClock
) -> AsyncIterator[RunningBot]:
    async with oauth_bot_in(slack, database_url, clock, ACME) as running:
        yield running


async def _walk(bot: RunningBot, slack: SlackEmulator, *pages: dict) -> tuple[str, str]:
    """Ada walks the wizard to its review; (the view id, the review's text)."""
    admin = Admin(bot, slack, user_id="UADA")
    view_id = await admin.connect()
    await admin.walk(view_id, *pages)
    return view_id, json.dumps(slack.views[view_id])


async def _initiate(bot: RunningBot, slack: SlackEmulator, *pages: dict) -> tuple[str, str]:
    """(the review's text, the result view's text) once it says how it went."""
    view_id, review = await _walk(bot, slack, *pages)
    await Admin(bot, slack, user_id="UADA").walk(view_id, {})
    await eventually(lambda: "Connection initiated" in json.dumps(slack.views[view_id]))
    await eventually(lambda: "Sending" not in json.dumps(slack.views[view_id]))
    return review, json.dumps(slack.views[view_id])


async def test_admins_of_another_workspace_cannot_touch_acmes_connections(
    bot: RunningBot, slack: SlackEmulator
) -> None:
    await install(bot, slack, team=GLOBEX, user="UGADMIN")
    await _initiate(bot, slack, *WIZARD_TO_PAT)
    assert bot.sender is not None
    [connection] = await db_rows(bot, Connection)
    listed = await bot.sender.command("list", user_id="UGADMIN", team_id=GLOBEX)
    assert "none" in listed.text and "acme_to_globex" not in listed.text
    cancelled = await bot.sender.command("cancel acme_to_globex", user_id="UGADMIN", team_id=GLOBEX)
    assert "I know no connection named `acme_to_globex`" in cancelled.text
    answered = len(slack.responses)
    await bot.sender.command("resend acme_to_globex", user_id="UGADMIN", team_id=GLOBEX)
    await eventually(lambda: len(slack.responses) > answered)
    assert "I know no connection named" in slack.responses[-1]["text"]
    # a Cancel button forged with Acme's connection id, clicked in Globex
    clicks = len(slack.responses)
    forged = {
        "channel": slack.workspace(GLOBEX).general_channel_id,
        "ts": "1.1",
        "blocks": [admin_actions(connection.id or 0, invitation_id=1)],
    }
    await bot.sender.click(
        action_id="admin_cancel", message=forged, user_id="UGADMIN", team_id=GLOBEX
    )
    await eventually(lambda: len(slack.responses) > clicks)
    [connection] = await db_rows(bot, Connection)
    assert connection.status == "PENDING"
    assert not any("withdrew" in said([m]) for m in dms(slack.workspace(GLOBEX), "UPAT"))


async def test_a_slack_connect_partner_whose_dm_slack_refuses(
    bot: RunningBot, slack: SlackEmulator
) -> None:
    acme = slack.workspace(ACME)
    acme.add_channel("CSHARED", name="acme-globex")
    slack.share_channel("CSHARED", with_team=GLOBEX)
    acme.refuse_dm("UPAT", error="user_not_visible")
    pages = [*WIZARD_TO_PAT]
    pages[4] = {"partner_user_id": "UPAT", "notice_channel": "CNOTICE"}
    # Globex hasn't installed the app: Slack reaches Pat nowhere; Ada is told why at once
    _, review = await _walk(bot, slack, *pages)
    assert "user_not_visible" in review and "nowhere in Slack" in review
    await Admin(bot, slack, user_id="UADA").back(_)
    # Globex installs: the same step now finds Pat there, by their profile's e-mail
    await install(bot, slack, team=GLOBEX, user="UGADMIN")
    await Admin(bot, slack, user_id="UADA").walk(_, pages[4])
    review = json.dumps(slack.views[_])
    assert "in Globex's Slack" in review and "user_not_visible" in review


async def test_a_partner_slack_reaches_nowhere(
    bot: RunningBot, slack: SlackEmulator, clock: FakeClock
) -> None:
    acme = slack.workspace(ACME)
    pages = [*WIZARD_TO_PAT]
    pages[4] = {"partner_email": "sam@initech.example", "notice_channel": "CNOTICE"}
    review, result = await _initiate(bot, slack, *pages)
    assert "nowhere in Slack" in review
    assert "EXA1-" in result and "/slack/install" in result
    # Ada's copy of the code, with the install link; the thread says she passes it on
    await eventually(lambda: len(dms(acme, "UADA")) == 1)
    assert "EXA1-" in said(dms(acme, "UADA")) and "/slack/install" in said(dms(acme, "UADA"))
    notices = [m for m in acme.messages if m["channel"] == "CNOTICE"]
    assert "passes the code on" in said(notices) and "EXA1-" not in said(notices)
    [invitation] = await db_rows(bot, Invitation)
    assert invitation.reach_team_id is None and invitation.partner_email == "sam@initech.example"
    clock.set(MONDAY + DAY)
    await sweep(bot.services)
    await eventually(lambda: len(dms(acme, "UADA")) == 2)
    assert "nudge them" in said(dms(acme, "UADA")[1:])


async def test_globex_removes_the_app_mid_cadence_then_adds_it_again(
    bot: RunningBot, slack: SlackEmulator, clock: FakeClock
) -> None:
    acme, globex = slack.workspace(ACME), slack.workspace(GLOBEX)
    await install(bot, slack, team=GLOBEX, user="UGADMIN")
    await _initiate(bot, slack, *WIZARD_TO_PAT)
    await eventually(lambda: len(dms(globex, "UPAT")) == 1)
    clock.set(MONDAY + DAY)
    await sweep(bot.services)
    await eventually(lambda: len(dms(globex, "UPAT")) == 2)
    assert bot.sender is not None
    old_token, before = globex.bot_token, len(slack.calls)
    answers = await bot.sender.uninstall(GLOBEX)
    assert [a.status for a in answers] == [200, 200]
    # both events' work after their acks: the one that lost the race to move the invitation
    # holds its row until it commits, and a sweep meanwhile would skip it (SKIP LOCKED)
    await bot.services.drain(within=5)
    await eventually(lambda: any("removed the Exalate app" in said([m]) for m in dms(acme, "UADA")))
    await eventually(  # the thread's notice goes in its own lane, beside the DM
        lambda: (
            "can't be reached in Slack any more"
            in said([m for m in acme.messages if m["channel"] == "CNOTICE"])
        )
    )
    # the next reminder goes to Ada; nothing goes out with Globex's dead token
    clock.set(MONDAY + 2 * DAY)
    await sweep(bot.services)
    await eventually(lambda: any("nudge them" in said([m]) for m in dms(acme, "UADA")))
    assert [c for c in slack.calls[before:] if c.token == old_token] == []
    assert len(dms(globex, "UPAT")) == 2
    # Globex adds the app again: the reminders go to Pat again, in Globex
    await install(bot, slack, team=GLOBEX, user="UGADMIN")
    await eventually(lambda: any("added the Exalate app" in said([m]) for m in acme.messages))
    clock.set(MONDAY + 3 * DAY)
    await sweep(bot.services)
    await eventually(lambda: len(dms(globex, "UPAT")) == 3)
    assert "Reminder" in said(dms(globex, "UPAT")[2:])


async def test_the_partners_workspace_installs_later_and_the_invitation_reaches_them(
    bot: RunningBot, slack: SlackEmulator, clock: FakeClock
) -> None:
    acme = slack.workspace(ACME)
    initech = slack.add_workspace(team_id=INITECH, name="Initech", domain="initech")
    initech.add_user(
        "USAM", name="sam", real_name="Sam Smith", email="sam@initech.example", tz="Asia/Tokyo"
    )
    initech.add_user("UIADMIN", name="ian", is_admin=True)
    pages = [*WIZARD_TO_PAT]
    pages[4] = {"partner_email": "sam@initech.example", "notice_channel": "CNOTICE"}
    _, result = await _initiate(bot, slack, *pages)
    code = result[result.index("EXA1-") : result.index("EXA1-") + 48]
    assert dms(initech, "USAM") == []
    await install(bot, slack, team=INITECH, user="UIADMIN")
    # Sam never had the code: the invitation DM goes to them now, in Initech's Slack
    await eventually(lambda: len(dms(initech, "USAM")) == 1)
    assert code in said(dms(initech, "USAM"))
    notices = [m for m in acme.messages if m["channel"] == "CNOTICE"]
    assert "Initech added the Exalate app" in said(notices) and code not in said(notices)
    [invitation] = await db_rows(bot, Invitation)
    assert (invitation.reach_team_id, invitation.partner_user_id) == (INITECH, "USAM")
    assert invitation.partner_tz == "Asia/Tokyo"  # their reminders follow their Slack's zone
    [connection] = await db_rows(bot, Connection)
    assert connection.partner_label == "Sam Smith (Initech)"
    # and the next reminder is Sam's, not Ada's
    nudges = sum("nudge them" in said([m]) for m in dms(acme, "UADA"))
    clock.set(MONDAY + DAY)
    await sweep(bot.services)
    await eventually(lambda: len(dms(initech, "USAM")) == 2)
    assert sum("nudge them" in said([m]) for m in dms(acme, "UADA")) == nudges


async def test_a_slack_connect_partner_is_dmed_through_the_shared_channels_workspace(
    bot: RunningBot, slack: SlackEmulator
) -> None:
    """Globex never installed the app, but shares a channel with Acme: Pat is reached
    through Acme's workspace, with Acme's token."""
    acme, globex = slack.workspace(ACME), slack.workspace(GLOBEX)
    acme.add_channel("CSHARED", name="acme-globex")
    slack.share_channel("CSHARED", with_team=GLOBEX)
    pages = [*WIZARD_TO_PAT]
    pages[4] = {"partner_user_id": "UPAT", "notice_channel": "CNOTICE"}
    review, result = await _initiate(bot, slack, *pages)
    assert "through a Slack Connect channel" in review
    assert "Sent to" in result
    await eventually(lambda: len(dms(acme, "UPAT")) == 1)
    assert "EXA1-" in said(dms(acme, "UPAT")) and globex.messages == []
    [invitation] = await db_rows(bot, Invitation)
    assert (invitation.reach_team_id, invitation.partner_team_id) == (ACME, GLOBEX)
