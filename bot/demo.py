"""`exalate-bot demo`: the whole story in one process, without a Slack workspace.

The real bot (its aiohttp server on a loopback port, a fresh SQLite file, the embedded local
Exalate node) talks to an embedded Slack emulator; a driver sends it what Slack would send,
signed, over HTTP. The admin runs the wizard, the partner gets the code by DM and two
reminders on a fast clock, accepts from Slack, and the notices channel follows along. What
each person would see is printed as a transcript.
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
from zoneinfo import ZoneInfo

from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from bot.devtools.local import serve_locally
from bot.devtools.slack_emulator import Checker, SlackEmulator
from bot.devtools.slack_requests import SlackSender
from bot.devtools.waiting import eventually
from bot.settings import Settings
from storage import repo

TEAM, ADMIN, PARTNER, CHANNEL = "TACME", "UADA", "UPAT", "CNOTICES"
START = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)  # a Monday, 09:00 in New York
WIZARD = (
    ("Where is the partner's instance?", {"destination": "private"}),
    ("Which mode?", {"mode": "script"}),
    ("Names", {"remote_short_name": "globex"}),
    ("Project for incoming sync", {"project_key": "SUP"}),
    ("Who accepts, and where the team follows", {"partner_user_id": PARTNER}),
    ("Review, then Initiate", {}),
)
WIDTH = 92


class Transcript:
    """What each person sees, as plain text: messages, modals and replies since last time."""

    def __init__(self, slack: SlackEmulator, out: TextIO) -> None:
        self.slack, self.out = slack, out
        self._calls = 0

    def line(self, text: str = "") -> None:
        print(text, file=self.out)

    def heading(self, when: datetime, what: str) -> None:
        local = when.astimezone(ZoneInfo("America/New_York"))
        stamp = f"{when:%a %d %b %H:%M} UTC ({local:%H:%M} in New York)"
        self.line()
        self.line(f"── {stamp} · {what} ".ljust(WIDTH, "─"))

    def act(self, who: str, what: str) -> None:
        self.line(f"  {self._name(who)} › {what}")

    def _name(self, user_id: str) -> str:
        user = self.slack.users.get(user_id) or {}
        return str(user.get("real_name") or user_id)

    def _where(self, channel: str) -> str:
        user = self.slack.dm_user(channel)
        if user is not None:
            return f"DM to {self._name(user)}"
        return "#" + str((self.slack.channels.get(channel) or {}).get("name") or channel)

    def mrkdwn(self, text: str) -> str:
        """Slack's markup as a person reads it: names for mentions, dates as written."""

        def mention(match: re.Match[str]) -> str:
            kind, ident, label = match.group(1), match.group(2), match.group(4)
            if kind == "@":
                return "@" + self._name(ident)
            if kind == "#":
                return "#" + str((self.slack.channels.get(ident) or {}).get("name") or ident)
            return label or ident

        text = re.sub(r"<([@#!]?)([^|>^]+)(\^[^|>]*)?(?:\|([^>]*))?>", mention, text)
        return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")

    def _blocks(self, blocks: list[dict[str, Any]], indent: str) -> None:
        for block in blocks:
            kind = block.get("type")
            texts: list[str] = []
            if kind == "header":
                texts.append(f"*{block['text']['text']}*")
            elif kind == "section":
                if block.get("text"):
                    texts.append(block["text"]["text"])
                texts += [f["text"] for f in block.get("fields") or []]
            elif kind == "context":
                texts += [e.get("text", "") for e in block.get("elements") or []]
            elif kind == "input":
                texts.append(f"[{block['label']['text']}: {self._element(block['element'])}]")
            elif kind == "actions":
                labels = [e["text"]["text"] for e in block["elements"] if e.get("text")]
                texts.append("  ".join(f"[ {label} ]" for label in labels))
            elif kind == "rich_text":
                texts.append("".join(_rich_text(block)))
            for text in texts:
                for row in self.mrkdwn(text).splitlines() or [""]:
                    self.line(f"{indent}{row}")

    def _element(self, element: dict[str, Any]) -> str:
        if element.get("initial_value"):
            return str(element["initial_value"])
        if element.get("initial_user"):
            return self.mrkdwn(f"<@{element['initial_user']}>")
        if element.get("initial_conversation"):
            return self.mrkdwn(f"<#{element['initial_conversation']}>")
        if element.get("initial_option"):
            return str(element["initial_option"]["text"]["text"])
        placeholder = element.get("placeholder") or {}
        return f"…{placeholder.get('text', '')}" if placeholder else "…"

    def view(self, view: dict[str, Any], who: str) -> None:
        title = view.get("title", {}).get("text", "")
        self.line(f"    ┌ modal for {self._name(who)}: {title}")
        self._blocks(view.get("blocks") or [], "    │ ")
        submit = (view.get("submit") or {}).get("text")
        if submit:
            self.line(f"    └ [ {submit} ]")
        else:
            self.line("    └")

    def news(self) -> None:
        """Messages posted or edited and replies given since the last call."""
        for call in self.slack.calls[self._calls :]:
            if call.failed or not call.response.get("ok"):
                continue
            params = call.params
            if call.method in ("chat.postMessage", "chat.update"):
                edited = " (edited)" if call.method == "chat.update" else ""
                threaded = " (in the thread)" if params.get("thread_ts") else ""
                where = self._where(str(call.response.get("channel") or params.get("channel")))
                self.line(f"    ✉ {where}{threaded}{edited}:")
                blocks = params.get("blocks")
                if isinstance(blocks, list) and blocks:
                    self._blocks(blocks, "      ")
                else:
                    self.line(f"      {self.mrkdwn(str(params.get('text') or ''))}")
            elif call.method == "chat.postEphemeral":
                self.line(f"    (only {self._name(str(params.get('user')))} sees)")
                self.line(f"      {self.mrkdwn(str(params.get('text') or ''))}")
        self._calls = len(self.slack.calls)


def _rich_text(block: dict[str, Any]) -> list[str]:
    parts: list[str] = []
    for element in block.get("elements") or []:
        for leaf in element.get("elements") or []:
            parts.append(str(leaf.get("text") or ""))
    return parts


class DemoSettings(Settings):
    """Only what the demo says: nothing from the environment or a .env file."""

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource, **_: Any
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


class Story:
    def __init__(self, slack: SlackEmulator, out: TextIO, folder: Path) -> None:
        from bot.clock import FakeClock

        self.slack = slack
        self.clock = FakeClock(START)
        self.folder = folder
        self.say = Transcript(slack, out)
        self.signing_secret = secrets.token_hex(16)

    def settings(self) -> Any:
        return DemoSettings(
            slack_bot_token=self.slack.bot_token,
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
        sender = SlackSender(
            bot_url=f"{url}/slack/events",
            signing_secret=self.signing_secret,
            emulator=self.slack,
            team_id=self.slack.team_id,
        )
        try:
            code = await self._wizard(sender)
            await self._reminders(services)
            await self._accept(sender, code)
            return await self._status(services)
        finally:
            await sender.close()
            await runner.cleanup()

    async def _wizard(self, sender: SlackSender) -> str:
        say = self.say
        say.heading(self.clock.now(), "Ada, an Exalate admin at Acme, connects to Globex")
        say.act(ADMIN, "/exalate connect")
        opened = len(self.slack.calls_to("views.open"))
        await sender.command("connect", user_id=ADMIN)
        await eventually(lambda: len(self.slack.calls_to("views.open")) > opened)
        view_id = self.slack.calls_to("views.open")[-1].response["view"]["id"]
        say.view(self.slack.views[view_id], ADMIN)
        for what, values in WIZARD:
            shown = ", ".join(f"{k} = {v}" for k, v in values.items()) or "checks the review"
            submit = (self.slack.views[view_id].get("submit") or {}).get("text", "Next")
            say.act(ADMIN, f"{what}: {shown} → [ {submit} ]")
            response = await sender.submit_view(view_id, values, user_id=ADMIN)
            answer = response.json or {}
            if response.status != 200 or answer.get("response_action") == "errors":
                raise RuntimeError(f"the wizard refused a step: {response.text}")
            if values:
                say.view(self.slack.views[view_id], ADMIN)
        await eventually(lambda: "Sent to" in json.dumps(self.slack.views[view_id]))
        say.line("    … after the ack, the bot sends the invitation and updates the modal:")
        say.view(self.slack.views[view_id], ADMIN)
        say.news()
        text = json.dumps(self.slack.views[view_id])
        return text[text.index("EXA1-") : text.index("EXA1-") + 48]

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
        say.heading(self.clock.now(), "Pat at Globex accepts from Slack")
        first_dm = next(
            m for m in self.slack.messages if self.slack.dm_user(m["channel"]) == PARTNER
        )
        say.act(PARTNER, "clicks [ Accept invitation ] in the invitation DM")
        opened = len(self.slack.calls_to("views.open"))
        await sender.click(action_id="partner_accept", message=first_dm, user_id=PARTNER)
        await eventually(lambda: len(self.slack.calls_to("views.open")) > opened)
        view_id = self.slack.calls_to("views.open")[-1].response["view"]["id"]
        say.view(self.slack.views[view_id], PARTNER)
        submit = (self.slack.views[view_id].get("submit") or {}).get("text", "Accept")
        say.act(PARTNER, f"pastes the code, names project GLX-SUP → [ {submit} ]")
        before = len(self.slack.messages)
        response = await sender.submit_view(
            view_id, {"code": code, "partner_project": "GLX-SUP"}, user_id=PARTNER
        )
        if (response.json or {}).get("response_action") != "update":
            raise RuntimeError(f"the acceptance was refused: {response.text}")
        say.view(self.slack.views[view_id], PARTNER)
        await eventually(lambda: len(self.slack.messages) >= before + 2)
        await asyncio.sleep(0.05)  # let the last notices land
        say.news()

    async def _status(self, services: Any) -> str:
        async with services.sessions() as session:
            [connection] = await repo.all_connections(session=session)
            audit = await repo.all_audit_events(session=session)
        self.say.heading(self.clock.now(), "the record")
        self.say.line(f"  connection {connection.name}: {connection.status}")
        trail = ", ".join(a.action for a in audit)
        self.say.line(f"  audit trail: {trail}")
        return str(connection.status)


def populate(slack: SlackEmulator) -> None:
    """The workspace of the story: Ada the admin, Pat the partner, the notices channel."""
    slack.add_user(ADMIN, name="ada", real_name="Ada (Acme admin)", is_admin=True)
    slack.add_user(
        PARTNER,
        name="pat",
        real_name="Pat (Globex)",
        email="pat@globex.example",
        tz="America/New_York",
    )
    slack.add_channel(CHANNEL, name="exalate-notices")


async def run(out: TextIO, *, checker: Checker | None = None) -> int:
    """Tell the story on `out`; 0 when the connection ends up active."""
    started = time.monotonic()
    print(
        "exalate-bot demo: the bot, an embedded Slack emulator and the local Exalate node, "
        "in one process",
        file=out,
    )
    async with SlackEmulator(team_id=TEAM, checker=checker) as slack:
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
