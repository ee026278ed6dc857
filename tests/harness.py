"""The bot under test: the real aiohttp server on a loopback port, its Web API calls going to
the Slack emulator, and a SlackSender that signs requests into `/slack/events`."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from sqlmodel import select

from bot.backend.base import ConnectionBackend, ConnectionSpec
from bot.clock import FakeClock
from bot.devtools.local import serve_locally
from bot.devtools.slack_requests import SlackSender
from bot.devtools.waiting import eventually
from bot.invitations.service import Invitations
from bot.services import Services
from bot.settings import Settings
from bot.sweep import SweepReport, sweep
from storage.models import Connection, Invitation
from tests.slack_emulator import SlackEmulator

SIGNING_SECRET = "test-signing-secret"
TEST_KEY = "Qmw6Q2l3UzN0b0p3c1dGbGVfR0o0Z1B5bWQ5T3F0b0E="  # a Fernet key for tests only
TEAM = "T0001"


def free_port() -> int:
    """A loopback port nothing listens on, for a bot started in its own process."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_settings(emulator: SlackEmulator, database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "slack_bot_token": emulator.bot_token,
        "slack_signing_secret": SIGNING_SECRET,
        "slack_api_url": emulator.base_url,
        "database_url": database_url,
        "port": 0,
        "exalate_local_instance": "acme",
        "sweep_interval": "1h",  # tests sweep by hand, with their fake clock
        **overrides,
    }
    if not database_url.startswith("sqlite"):  # no file to keep a key beside: every replica
        values.setdefault("exalate_secret_key", TEST_KEY)  # shares this one
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@dataclass
class RunningBot:
    services: Services
    runner: web.AppRunner
    url: str
    sender: SlackSender | None = field(default=None)

    async def stop(self) -> None:
        if self.sender is not None:
            await self.sender.close()
        await self.runner.cleanup()


async def start_bot(
    emulator: SlackEmulator,
    settings: Settings,
    *,
    clock: FakeClock,
    backend: Callable[[Services], ConnectionBackend] | None = None,
    real_pace: bool = False,
) -> RunningBot:
    """The bot on a loopback port. Its pacer keeps count but doesn't sleep (the tests' clock
    is fake), unless `real_pace`."""
    services, runner, url = await serve_locally(
        settings, clock=clock, backend=backend, real_pace=real_pace
    )
    bot = RunningBot(services=services, runner=runner, url=url)
    if settings.slack_signing_secret is not None:
        bot.sender = SlackSender(
            bot_url=f"{bot.url}/slack/events",
            signing_secret=settings.slack_signing_secret.get_secret_value(),
            emulator=emulator,
            team_id=TEAM,
        )
    return bot


class Admin:
    """Drives the wizard as one Slack user would."""

    def __init__(self, bot: RunningBot, slack: SlackEmulator, user_id: str = "UADMIN") -> None:
        self.bot, self.slack, self.user_id = bot, slack, user_id
        assert bot.sender is not None
        self.sender = bot.sender

    async def connect(self) -> str:
        opened = len(self.slack.calls_to("views.open"))
        response = await self.sender.command("connect", user_id=self.user_id)
        assert response.status == 200
        await eventually(lambda: len(self.slack.calls_to("views.open")) > opened)
        return self.slack.calls_to("views.open")[-1].response["view"]["id"]

    def step(self, view_id: str) -> str:
        return json.loads(self.slack.views[view_id]["private_metadata"])["step"]

    async def submit(self, view_id: str, values: dict[str, Any]) -> dict[str, Any]:
        response = await self.sender.submit_view(view_id, values, user_id=self.user_id)
        assert response.status == 200, response.text
        return response.json or {}

    async def errors(self, view_id: str, values: dict[str, Any]) -> dict[str, str]:
        body = await self.submit(view_id, values)
        assert body.get("response_action") == "errors", body
        return body["errors"]

    async def back(self, view_id: str) -> str:
        updates = len(self.slack.calls_to("views.update"))
        response = await self.sender.click(
            action_id="wizard_back", view_id=view_id, user_id=self.user_id
        )
        assert response.status == 200
        await eventually(lambda: len(self.slack.calls_to("views.update")) > updates)
        return self.step(view_id)

    async def walk(self, view_id: str, *pages: dict[str, Any]) -> None:
        for values in pages:
            body = await self.submit(view_id, values)
            assert body.get("response_action") == "update", body


def initial_values(view: dict[str, Any]) -> dict[str, Any]:
    """What each input block shows when the view opens."""
    shown: dict[str, Any] = {}
    for block in view["blocks"]:
        if block["type"] != "input":
            continue
        element = block["element"]
        for key in ("initial_value", "initial_user", "initial_conversation"):
            if key in element:
                shown[block["block_id"]] = element[key]
        if "initial_option" in element:
            shown[block["block_id"]] = element["initial_option"]["value"]
    return shown


async def db_rows(bot: RunningBot, model: Any) -> list[Any]:
    async with bot.services.sessions() as session:
        return list((await session.exec(select(model))).all())


MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # 04:00 in New York, where the partner is
WIZARD = (
    {"destination": "private"},
    {"mode": "script"},
    {"remote_short_name": "partnerco"},
    {"project_key": "SUP"},
    {"partner_user_id": "UPARTNER", "notice_channel": "CNOTICE"},
    {},
)

# The first steps with answers too long for a view's private_metadata (Slack keeps 3,000
# characters): from the info step on, they live in the draft table.
SPILLING = (
    {"destination": "public", "destination_url": "https://jira.partner.example/" + "p" * 1900},
    {"mode": "script"},
    {"remote_short_name": "partnerco", "description": "A long description. " * 50},
)


def answers_for(n: int, notice_channel: str | None = None) -> dict[str, Any]:
    """A finished wizard's answers for connection `acme_to_p{n}` (to seed many)."""
    return {
        "destination": "private",
        "mode": "script",
        "local_short_name": "acme",
        "remote_short_name": f"p{n}",
        "connection_name": f"acme_to_p{n}",
        "project_key": "SUP",
        "notice_channel": notice_channel,
    }


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


class World:
    """The admin, the partner and the channel, as the tests see them."""

    def __init__(self, bot: RunningBot, slack: SlackEmulator, clock: FakeClock) -> None:
        self.bot, self.slack, self.clock = bot, slack, clock
        assert bot.sender is not None
        self.sender = bot.sender
        self.invitations = Invitations(bot.services)

    async def initiate(self, *pages: dict[str, Any]) -> str:
        """Run the wizard; return the invitation code shown to the admin."""
        admin = Admin(self.bot, self.slack)
        view_id = await admin.connect()
        await admin.walk(view_id, *(pages or WIZARD))
        await eventually(lambda: "Sent to" in json.dumps(self.slack.views[view_id]))
        text = json.dumps(self.slack.views[view_id])
        return text[text.index("EXA1-") : text.index("EXA1-") + 48]

    async def sweep(self, when: datetime | None = None) -> SweepReport:
        if when is not None:
            self.clock.set(when)
        return await sweep(self.bot.services)

    def dms(self, user: str) -> list[dict[str, Any]]:
        channel = self.slack._ims.get(user)
        return [msg for msg in self.slack.messages if msg["channel"] == channel]

    def thread(self) -> list[dict[str, Any]]:
        """The replies in the connection's thread, under its status card."""
        notices = [msg for msg in self.slack.messages if msg["channel"] == "CNOTICE"]
        root = notices[0]
        assert all(n["thread_ts"] == root["ts"] for n in notices[1:]), notices
        return notices[1:]

    def card(self) -> dict[str, Any]:
        """The connection's status card: the first message in the notice channel."""
        [card, *_] = [msg for msg in self.slack.messages if msg["channel"] == "CNOTICE"]
        assert card.get("thread_ts") in (None, card["ts"])
        return card

    def with_buttons(self, user: str) -> list[dict[str, Any]]:
        """The user's DMs that still have buttons."""
        return [dm for dm in self.dms(user) if any(b["type"] == "actions" for b in dm["blocks"])]

    async def click(self, action_id: str, message: dict[str, Any], user: str, **kw: Any) -> None:
        """Click a button, then wait for the bot's visible answer after its ack: a modal
        opened, or a reply to the clicker."""
        opened, said = len(self.slack.calls_to("views.open")), len(self.slack.responses)
        response = await self.sender.click(action_id=action_id, message=message, user_id=user, **kw)
        assert response.status == 200
        await eventually(
            lambda: (
                len(self.slack.calls_to("views.open")) > opened or len(self.slack.responses) > said
            )
        )

    async def accept_modal(self, user: str, code: str, project: str = "SUPPORT") -> Any:
        view_id = self.slack.calls_to("views.open")[-1].response["view"]["id"]
        response = await self.sender.submit_view(
            view_id, {"code": code, "partner_project": project}, user_id=user
        )
        assert response.status == 200
        return response.json or {}

    async def accept_by_command(self, user: str, code: str) -> dict[str, Any]:
        opened = len(self.slack.calls_to("views.open"))
        await self.sender.command("accept", user_id=user)
        await eventually(lambda: len(self.slack.calls_to("views.open")) > opened)
        return await self.accept_modal(user, code)

    async def state(self) -> tuple[str, str]:
        [connection] = await db_rows(self.bot, Connection)
        invitations = await db_rows(self.bot, Invitation)
        return connection.status, invitations[-1].state

    def said(self) -> list[str]:
        return [r["text"] for r in self.slack.responses]


def text_of(message: dict[str, Any]) -> str:
    """A message's or a view's blocks (else its text), as one string to search."""
    return json.dumps(message.get("blocks") or message.get("text"), ensure_ascii=False)


async def open_home(world: World, user: str) -> dict[str, Any]:
    """`user` opens the app's Home tab: the view the bot publishes for them."""
    published = len(world.slack.calls_to("views.publish"))
    event = {"type": "app_home_opened", "user": user, "channel": "D0HOME", "tab": "home"}
    response = await world.sender.event(event)
    assert response.status == 200
    await eventually(lambda: len(world.slack.calls_to("views.publish")) > published)
    return world.slack.home_views[user]


def connection_spec(n: int, partner: str = "UPARTNER") -> ConnectionSpec:
    """What the wizard would hand the backend for connection `acme_to_p{n}`."""
    return ConnectionSpec(
        team_id=TEAM,
        name=f"acme_to_p{n}",
        destination="private",
        destination_url=None,
        mode="script",
        local_short_name="acme",
        remote_short_name=f"p{n}",
        description="",
        project_key="SUP",
        partner_user_id=partner,
        partner_team_id=TEAM,
    )
