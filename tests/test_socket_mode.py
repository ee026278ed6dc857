"""Socket Mode: the same bot over a WebSocket (the emulator's), with /healthz still served."""

from __future__ import annotations

import json

import aiohttp

from bot.clock import FakeClock
from bot.devtools.slack_requests import command_payload, view_submission_payload
from tests.harness import eventually, make_settings, start_bot
from tests.slack_emulator import SlackEmulator


async def test_connect_over_socket_mode(tmp_path, clock: FakeClock) -> None:
    async with SlackEmulator() as slack:
        slack.add_user("UADMIN", name="ada", is_admin=True)
        settings = make_settings(
            slack,
            f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
            slack_signing_secret=None,
            slack_app_token=slack.app_token,
        )
        bot = await start_bot(slack, settings, clock=clock)
        try:
            await slack.socket_connected()
            async with aiohttp.ClientSession() as http:
                async with http.get(f"{bot.url}/healthz") as health:
                    assert health.status == 200
                async with http.post(f"{bot.url}/slack/events", data="x") as events:
                    assert events.status == 404  # no signing secret: HTTP events are off

            who = {"user_id": "UADMIN", "team_id": slack.team_id, "user_name": "ada"}
            ack = await slack.socket_send(
                "slash_commands",
                command_payload(
                    text="connect",
                    trigger_id=slack.issue_trigger_id(),
                    response_url=slack.response_url(),
                    **who,
                ),
            )
            assert "envelope_id" in ack
            await eventually(lambda: slack.calls_to("views.open"))
            view = slack.calls_to("views.open")[0].response["view"]

            ack = await slack.socket_send(
                "interactive",
                view_submission_payload(
                    view, {"destination": "private"}, trigger_id=slack.issue_trigger_id(), **who
                ),
            )
            payload = ack["payload"]
            assert payload["response_action"] == "update"
            assert json.loads(payload["view"]["private_metadata"])["step"] == "mode"
            assert slack.problems == []
        finally:
            await bot.stop()


async def test_socket_mode_with_oauth_installs_over_http(tmp_path, clock: FakeClock) -> None:
    """OAuth in Socket Mode: the installs come over HTTP on PORT, the requests over the
    socket, each authorized as its workspace (Globex's command, Globex's token)."""
    from tests.two_workspaces import (
        CLIENT_ID,
        CLIENT_SECRET,
        GLOBEX,
        acme_emulator,
        install,
        two_companies,
    )

    async with acme_emulator() as slack:
        two_companies(slack)
        settings = make_settings(
            slack,
            f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
            slack_bot_token=None,
            slack_signing_secret=None,
            slack_app_token=slack.app_token,
            slack_client_id=CLIENT_ID,
            slack_client_secret=CLIENT_SECRET,
        )
        bot = await start_bot(slack, settings, clock=clock)
        slack.oauth_app(
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            redirect_uri=f"{bot.url}/slack/oauth_redirect",
        )
        try:
            await slack.socket_connected()
            installed = await install(bot, slack, team=GLOBEX, user="UGADMIN")
            assert installed.status == 200, installed.page
            globex = slack.workspace(GLOBEX)
            ack = await slack.socket_send(
                "slash_commands",
                command_payload(
                    text="accept",
                    trigger_id=globex.issue_trigger_id(),
                    response_url=slack.response_url(),
                    user_id="UPAT",
                    team_id=GLOBEX,
                    user_name="pat",
                ),
            )
            assert "envelope_id" in ack
            await eventually(lambda: slack.calls_to("views.open"))
            [opened] = slack.calls_to("views.open")
            assert opened.team_id == GLOBEX and opened.token == globex.bot_token
            assert slack.problems == []
        finally:
            await bot.stop()
