"""Two companies, each in its own Slack: Ada admin of Acme's, Pat partner in Globex's, and
the bot in OAuth mode, installed in each over HTTP as an admin would (GET /slack/install →
Slack's authorize page → GET /slack/oauth_redirect, the state cookie carried)."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import aiohttp

from bot.clock import FakeClock
from bot.devtools.emulator_methods import Workspace
from tests.harness import MONDAY, RunningBot, make_settings, start_bot
from tests.slack_emulator import SlackEmulator

ACME, GLOBEX, INITECH = "T0ACME", "T0GLOBEX", "T0INITECH"
INSTALLER = {ACME: "UADA", GLOBEX: "UGADMIN"}  # each workspace's Slack admin
CLIENT_ID, CLIENT_SECRET = "1111.2222", "test-client-secret"


def two_companies(slack: SlackEmulator) -> tuple[Workspace, Workspace]:
    """Acme (the emulator's primary workspace, not installed yet) and Globex."""
    acme = slack.primary
    acme.add_user("UADA", name="ada", real_name="Ada Admin", is_admin=True, tz="Europe/Berlin")
    acme.add_user("UOLLY", name="olly", real_name="Olly Other")
    acme.add_channel("CNOTICE", name="exalate-notices")
    globex = slack.add_workspace(team_id=GLOBEX, name="Globex", domain="globex")
    globex.add_user(
        "UPAT",
        name="pat",
        real_name="Pat Partner",
        email="pat@globex.example",
        tz="America/New_York",
    )
    globex.add_user("UGADMIN", name="gina", real_name="Gina Globex", is_admin=True)
    return acme, globex


def acme_emulator() -> SlackEmulator:
    return SlackEmulator(
        team_id=ACME, team_name="Acme", team_domain="acme", bot_token=None, bot_user_id="UBOTA"
    )


async def start_oauth_bot(
    slack: SlackEmulator, database_url: str, *, clock: FakeClock, **overrides: Any
) -> RunningBot:
    settings = make_settings(
        slack,
        database_url,
        slack_bot_token=None,
        slack_client_id=CLIENT_ID,
        slack_client_secret=CLIENT_SECRET,
        **overrides,
    )
    bot = await start_bot(slack, settings, clock=clock)
    # the redirect URL in the app's settings (OAuth & Permissions) is the bot's
    slack.oauth_app(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        redirect_uri=f"{bot.url}/slack/oauth_redirect",
    )
    assert bot.sender is not None
    bot.sender.team_id = ACME
    return bot


@asynccontextmanager
async def companies() -> AsyncIterator[SlackEmulator]:
    """Acme's Slack and Globex's, the app installed in neither yet; nothing wrong seen."""
    async with acme_emulator() as emulator:
        two_companies(emulator)
        yield emulator
        assert emulator.problems == [], emulator.problems


@asynccontextmanager
async def oauth_bot_in(
    slack: SlackEmulator, database_url: str, clock: FakeClock, *teams: str, **overrides: Any
) -> AsyncIterator[RunningBot]:
    """The bot in OAuth mode on Monday morning (reminders at any hour unless `overrides`
    say), installed by each of `teams`' Slack admins."""
    clock.set(MONDAY)
    bot = await start_oauth_bot(
        slack, database_url, clock=clock, **{"reminder_hours": "", **overrides}
    )
    try:
        for team in teams:
            await install(bot, slack, team=team, user=INSTALLER[team])
        yield bot
    finally:
        await bot.stop()


@dataclass
class Installed:
    page: str  # the success page's HTML
    status: int
    authorize_query: dict[str, str]


async def install(bot: RunningBot, slack: SlackEmulator, *, team: str, user: str) -> Installed:
    """An admin of `team` installs the app: the bot's Add to Slack page, Slack's authorize
    page (the emulator: `user` clicks Allow), back to the bot with the code and the state."""
    jar = aiohttp.CookieJar(unsafe=True)  # cookies for 127.0.0.1, as a browser keeps them
    async with aiohttp.ClientSession(cookie_jar=jar) as browser:
        async with browser.get(f"{bot.url}/slack/install", allow_redirects=False) as page:
            assert page.status == 200, await page.text()
            html = await page.text()
        match = re.search(r'href="([^"]+/oauth/v2/authorize[^"]*)"', html)
        assert match, html
        authorize = match.group(1).replace("&amp;", "&")
        query = dict(parse_qsl(urlsplit(authorize).query))
        async with browser.get(
            authorize, params={"team": team, "user": user}, allow_redirects=False
        ) as slack_page:
            assert slack_page.status == 302, await slack_page.text()
            back = slack_page.headers["Location"]
        async with browser.get(back, allow_redirects=False) as done:
            return Installed(page=await done.text(), status=done.status, authorize_query=query)


WIZARD_TO_PAT = (
    {"destination": "private"},
    {"mode": "script"},
    {"remote_short_name": "globex"},
    {"project_key": "SUP"},
    {"partner_email": "pat@globex.example", "notice_channel": "CNOTICE"},
)


def dms(workspace: Workspace, user: str) -> list[dict[str, Any]]:
    """What the bot posted in its DM with `user`, in that workspace."""
    channel = workspace._ims.get(user)
    return [msg for msg in workspace.messages if channel and msg["channel"] == channel]


def said(messages: list[dict[str, Any]]) -> str:
    return json.dumps(messages)


def kept_apart(slack: SlackEmulator) -> None:
    """Every call about Pat went to Globex with Globex's token, every call about Ada or the
    notice channel to Acme with Acme's: no call in one workspace names the other's people,
    and no call went out with a token Slack doesn't know (team_id None)."""
    pat, acme_side = "UPAT", ("UADA", "CNOTICE")
    for call in slack.calls:
        if call.method in ("oauth.v2.access", "auth.test"):
            continue
        params = json.dumps(call.params)
        assert call.team_id is not None, call
        if call.team_id == ACME:
            assert pat not in params, call
        if call.team_id == GLOBEX:
            assert not any(who in params for who in acme_side), call
