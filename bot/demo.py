"""`exalate-bot demo`: the two-company story in one process, without a Slack workspace.

Ada is an Exalate admin in Acme's Slack; Pat, her partner, works in Globex's. The real bot (its
aiohttp server on a loopback port, a fresh SQLite file, the embedded local Exalate node) runs
in OAuth mode against an embedded Slack emulator serving both workspaces. Ada adds the app to
Acme's Slack and Gina, Globex's Slack admin, to Globex's, through the bot's install page over
HTTP as a browser would. Ada runs the wizard with Pat's e-mail; Pat gets the code by DM in
Globex and two reminders on a fast clock, and accepts from Slack there; the notices channel
and Ada's DMs follow in Acme, then what comes next on each side. The transcript says in whose
Slack each message appears.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import parse_qsl, urlsplit

import aiohttp
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from bot.clock import FakeClock
from bot.devtools.demo_transcript import Transcript, page_text
from bot.devtools.local import serve_locally
from bot.devtools.slack_emulator import Checker, SlackEmulator, Workspace
from bot.devtools.slack_requests import SlackSender
from bot.devtools.waiting import eventually
from bot.settings import Settings
from storage import repo

ACME, GLOBEX = "TACME", "TGLOBEX"
ADMIN, PARTNER, GLOBEX_ADMIN, CHANNEL = "UADA", "UPAT", "UGINA", "CNOTICES"
PARTNER_EMAIL = "pat@globex.example"
# the emulator's primary workspace is Acme's, the app not installed there yet
EMULATOR: dict[str, Any] = {
    "team_id": ACME,
    "team_name": "Acme",
    "team_domain": "acme",
    "bot_token": None,
    "bot_user_id": "UBOTACME",
}
CLIENT_ID = "1000000001.2000000002"  # the demo app's, known only to the emulator
START = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)  # a Monday, 09:00 in New York
WIZARD = (
    ("Where is the partner's instance?", {"destination": "private"}),
    ("Which mode?", {"mode": "script"}),
    ("Names", {"remote_short_name": "globex"}),
    ("Project for incoming sync", {"project_key": "SUP"}),
    ("Who accepts, and where the team follows", {"partner_email": PARTNER_EMAIL}),
    ("Review, then Initiate", {}),
)


class DemoSettings(Settings):
    """Only what the demo says: nothing from the environment or a .env file."""

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource, **_: Any
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


class Story:
    def __init__(self, slack: SlackEmulator, out: TextIO, folder: Path) -> None:
        self.slack = slack
        self.clock = FakeClock(START)
        self.folder = folder
        self.say = Transcript(slack, out)
        self.signing_secret = secrets.token_hex(16)
        self.client_secret = secrets.token_hex(16)

    def settings(self) -> Any:
        """OAuth mode (no bot token): the bot learns each workspace's token as it is installed."""
        return DemoSettings(
            slack_bot_token=None,
            slack_client_id=CLIENT_ID,
            slack_client_secret=self.client_secret,
            slack_signing_secret=self.signing_secret,
            slack_api_url=self.slack.base_url,
            database_url=f"sqlite:///{self.folder / 'demo.db'}",
            port=0,
            exalate_notify_channel=CHANNEL,
            exalate_local_instance="acme",
            status_poll_interval="1h",
            sweep_interval="1h",  # the story sweeps by hand, on its fast clock
            log_level="WARNING",
        )

    async def run(self) -> str:
        """Tell the story; return the connection's final status."""
        services, runner, url = await serve_locally(self.settings(), clock=self.clock)
        # the redirect URL in the app's settings (OAuth & Permissions) is the bot's
        self.slack.oauth_app(
            client_id=CLIENT_ID,
            client_secret=self.client_secret,
            redirect_uri=f"{url}/slack/oauth_redirect",
        )
        sender = SlackSender(
            bot_url=f"{url}/slack/events",
            signing_secret=self.signing_secret,
            emulator=self.slack,
            team_id=ACME,
        )
        try:
            await self._install(url, ACME, ADMIN, "Ada adds the Exalate app to Acme's Slack")
            await self._install(
                url, GLOBEX, GLOBEX_ADMIN, "Gina adds the Exalate app to Globex's Slack"
            )
            code = await self._wizard(sender)
            await self._reminders(services)
            await self._accept(sender, code)
            return await self._status(services)
        finally:
            await sender.close()
            await runner.cleanup()

    async def _install(self, url: str, team_id: str, who: str, what: str) -> None:
        """`who` installs the app as in a browser: the bot's install page, Slack's authorize
        page (the emulator: Allow clicked), back to the bot with the code, the state cookie
        kept. Nothing secret is printed: not the code, the state or the token."""
        say, workspace = self.say, self.slack.workspace(team_id)
        say.heading(self.clock.now(), what)
        if who != ADMIN:
            say.line(
                f"  ({say.name(who)} is {workspace.name}'s Slack admin: with the app in "
                f"{workspace.name}'s Slack too, Pat hears from it there.)"
            )
        say.act(who, f"opens the bot's install page ({url}/slack/install): [ Add to Slack ]")
        jar = aiohttp.CookieJar(unsafe=True)  # cookies for 127.0.0.1, as a browser keeps them
        async with aiohttp.ClientSession(cookie_jar=jar) as browser:
            async with browser.get(f"{url}/slack/install", allow_redirects=False) as page:
                found = re.search(r'href="([^"]+/oauth/v2/authorize[^"]*)"', await page.text())
            if page.status != 200 or found is None:
                raise RuntimeError(f"the install page answered {page.status}")
            authorize = found.group(1).replace("&amp;", "&")
            scopes = dict(parse_qsl(urlsplit(authorize).query)).get("scope", "")
            say.line(f"    Slack asks to allow Exalate in {workspace.name}'s Slack, with:")
            say.line(f"      {scopes.replace(',', ', ')}")
            say.act(who, "[ Allow ]")
            query = {"team": team_id, "user": who}
            async with browser.get(authorize, params=query, allow_redirects=False) as allowed:
                back = allowed.headers.get("Location")
            if allowed.status != 302 or back is None:
                raise RuntimeError(f"Slack's authorize page answered {allowed.status}")
            async with browser.get(back, allow_redirects=False) as done:
                text = page_text(await done.text())
            if done.status != 200 or not workspace.installed:
                raise RuntimeError(f"the install in {workspace.name} failed: {text}")
        say.line(f"    the bot's page: {text}")
        say.news()

    async def _wizard(self, sender: SlackSender) -> str:
        say = self.say
        say.heading(self.clock.now(), "Ada, an Exalate admin at Acme, connects to Globex")
        say.act(ADMIN, "/exalate connect")
        opened = len(self.slack.calls_to("views.open"))
        await sender.command("connect", user_id=ADMIN)
        await eventually(lambda: len(self.slack.calls_to("views.open")) > opened)
        view_id = self.slack.calls_to("views.open")[-1].response["view"]["id"]
        say.view(view_id, ADMIN)
        for what, values in WIZARD:
            shown = ", ".join(f"{k} = {v}" for k, v in values.items()) or "checks the review"
            submit = (self.slack.views[view_id].get("submit") or {}).get("text", "Next")
            say.act(ADMIN, f"{what}: {shown} → [ {submit} ]")
            response = await sender.submit_view(view_id, values, user_id=ADMIN)
            answer = response.json or {}
            if response.status != 200 or answer.get("response_action") == "errors":
                raise RuntimeError(f"the wizard refused a step: {response.text}")
            if values:
                say.view(view_id, ADMIN)
        await eventually(lambda: "Sent to" in json.dumps(self.slack.views[view_id]))
        say.line("    … after the ack, the bot sends the invitation and updates the modal:")
        say.view(view_id, ADMIN)
        await eventually(lambda: self._notices() and self._dms(GLOBEX, PARTNER))
        say.news()
        text = json.dumps(self.slack.views[view_id])
        return text[text.index("EXA1-") : text.index("EXA1-") + 48]

    def _dms(self, team_id: str, user_id: str) -> list[dict[str, Any]]:
        """What the bot posted in its DM with `user_id`, in that workspace."""
        workspace: Workspace = self.slack.workspace(team_id)
        return [m for m in workspace.messages if workspace.dm_user(m["channel"]) == user_id]

    def _notices(self) -> list[dict[str, Any]]:
        return [m for m in self.slack.workspace(ACME).messages if m["channel"] == CHANNEL]

    async def _reminders(self, services: Any) -> None:
        from bot.sweep import sweep

        for n in (1, 2):
            self.clock.advance(timedelta(days=1))
            self.say.heading(self.clock.now(), f"a day passes; the sweep finds reminder {n} due")
            report = await sweep(services)
            if report.reminded != 1:
                raise RuntimeError(f"expected one reminder, the sweep sent {report.reminded}")
            self.say.news()

    async def _accept(self, sender: SlackSender, code: str) -> None:
        say = self.say
        self.clock.advance(timedelta(hours=2))
        say.heading(self.clock.now(), "Pat at Globex accepts, in Globex's Slack")
        newest = self._dms(GLOBEX, PARTNER)[-1]  # the earlier DMs' buttons are gone by now
        say.act(PARTNER, "clicks [ Accept invitation ] in the newest reminder")
        opened = len(self.slack.calls_to("views.open"))
        await sender.click(action_id="partner_accept", message=newest, user_id=PARTNER)
        await eventually(lambda: len(self.slack.calls_to("views.open")) > opened)
        view_id = self.slack.calls_to("views.open")[-1].response["view"]["id"]
        say.view(view_id, PARTNER)
        submit = (self.slack.workspace(GLOBEX).views[view_id].get("submit") or {}).get("text")
        say.act(PARTNER, f"pastes the code, names project GLX-SUP → [ {submit or 'Accept'} ]")
        notices, ada = len(self._notices()), len(self._dms(ACME, ADMIN))
        pat = len(self._dms(GLOBEX, PARTNER))
        response = await sender.submit_view(
            view_id, {"code": code, "partner_project": "GLX-SUP"}, user_id=PARTNER
        )
        if (response.json or {}).get("response_action") != "update":
            raise RuntimeError(f"the acceptance was refused: {response.text}")
        say.view(view_id, PARTNER)
        # the notice and Ada's DM, then what comes next: in the thread, to Ada, to Pat
        await eventually(
            lambda: (
                len(self._notices()) >= notices + 2
                and len(self._dms(ACME, ADMIN)) >= ada + 2
                and len(self._dms(GLOBEX, PARTNER)) > pat
            )
        )
        say.news()

    async def _status(self, services: Any) -> str:
        async with services.sessions() as session:
            [connection] = await repo.all_connections(session=session)
            audit = await repo.all_audit_events(session=session)
        sides = f"{self.slack.workspace(ACME).name} ↔ {self.slack.workspace(GLOBEX).name}"
        self.say.heading(self.clock.now(), "the record")
        self.say.line(f"  connection {connection.name}: {connection.status} ({sides})")
        trail = ", ".join(a.action for a in audit)
        self.say.line(f"  audit trail: {trail}")
        return str(connection.status)


def populate(slack: SlackEmulator) -> None:
    """The two companies: Acme's Slack (Ada the admin, the notices channel) and Globex's (Pat
    the partner, Gina its Slack admin)."""
    acme = slack.workspace(ACME)
    acme.add_user(ADMIN, name="ada", real_name="Ada Lovelace", is_admin=True)
    acme.add_channel(CHANNEL, name="exalate-notices")
    globex = slack.add_workspace(team_id=GLOBEX, name="Globex", domain="globex")
    globex.add_user(
        PARTNER,
        name="pat",
        real_name="Pat Parker",
        email=PARTNER_EMAIL,
        tz="America/New_York",
    )
    globex.add_user(GLOBEX_ADMIN, name="gina", real_name="Gina Gold", is_admin=True)


async def run(out: TextIO, *, checker: Checker | None = None) -> int:
    """Tell the story on `out`; 0 when the connection ends up active."""
    started = time.monotonic()
    print(
        "exalate-bot demo: the bot, an embedded Slack emulator with two companies' workspaces "
        "and the local Exalate node, in one process",
        file=out,
    )
    async with SlackEmulator(**EMULATOR, checker=checker) as slack:
        populate(slack)
        with tempfile.TemporaryDirectory() as folder:
            status = await Story(slack, out, Path(folder)).run()
        problems = list(slack.problems)
    print(file=out)
    for problem in problems:
        print(f"problem: {problem}", file=out)
    ok = status == "ACTIVE" and not problems
    outcome = "the connection is active" if ok else "something went wrong"
    print(f"Done in {time.monotonic() - started:.1f} s: {outcome}.", file=out)
    return 0 if ok else 1


def main() -> int:
    try:
        return asyncio.run(run(sys.stdout))
    except Exception as exc:  # one line, not a traceback: the demo is for people
        print(f"exalate-bot demo: failed ({type(exc).__name__}: {exc})", file=sys.stderr)
        return 1
