"""A bare Bolt AsyncApp, the yardstick: it only acknowledges, and calls views.open with the
bot's first view. Run as `python -m bench.bare_bolt PORT SLACK_API_URL`."""

from __future__ import annotations

import sys

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.app.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.wizard.rules import Step
from bot.wizard.steps import build_step_view

SECRET = "bench-signing-secret"


def app(api_url: str) -> web.Application:
    bolt = AsyncApp(
        client=AsyncWebClient(token="xoxb-bench-token", base_url=api_url),
        signing_secret=SECRET,
    )
    first = build_step_view(Step.DESTINATION, {}, local_instance="local")
    second = build_step_view(Step.MODE, {"destination": "private"}, local_instance="local")

    @bolt.command("/exalate")
    async def command(ack, body, client) -> None:  # type: ignore[no-untyped-def]
        await ack()
        await client.views_open(trigger_id=body["trigger_id"], view=first)

    @bolt.view("exalate_wizard")
    async def submit(ack) -> None:  # type: ignore[no-untyped-def]
        await ack(response_action="update", view=second)

    async def events(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    web_app = web.Application()
    web_app.router.add_post("/slack/events", events)
    web_app.router.add_get("/healthz", healthz)
    return web_app


if __name__ == "__main__":
    web.run_app(app(sys.argv[2]), port=int(sys.argv[1]), print=None, access_log=None)
