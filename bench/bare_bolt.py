"""A bare Bolt AsyncApp, the yardstick: it only acknowledges, and calls views.open with the
bot's first view. Run as `python -m bench.bare_bolt PORT SLACK_API_URL [DATABASE_URL]`.

With DATABASE_URL it is in OAuth mode as Bolt ships it: the bot's SealedInstallationStore on
that database, read by Bolt's own AsyncInstallationStoreAuthorize (its defaults: no cache, so
a store read and an `auth.test` for every request). With a fourth argument `cached`, that
authorize with its cache on (a store read every request, `auth.test` once per token): the
tougher yardstick."""

from __future__ import annotations

import logging
import sys

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.authorization.async_authorize import AsyncInstallationStoreAuthorize
from slack_sdk.web.async_client import AsyncWebClient

from bench.oauth import store
from bot.settings import normalize_database_url
from bot.wizard.rules import Step
from bot.wizard.steps import build_step_view
from storage.db import create_engine

SECRET = "bench-signing-secret"


def app(api_url: str, database_url: str | None = None, cached: bool = False) -> web.Application:
    if database_url is None:
        bolt = AsyncApp(
            client=AsyncWebClient(token="xoxb-bench-token", base_url=api_url),
            signing_secret=SECRET,
        )
    else:
        engine = create_engine(normalize_database_url(database_url))
        installations = store(engine)
        authorize = (
            AsyncInstallationStoreAuthorize(
                installation_store=installations,
                logger=logging.getLogger("bare_bolt"),
                cache_enabled=True,
            )
            if cached
            else None
        )
        bolt = AsyncApp(
            client=AsyncWebClient(base_url=api_url),  # no token: each workspace's from the store
            signing_secret=SECRET,
            installation_store=installations,
            authorize=authorize,
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
    database = sys.argv[3] if len(sys.argv) > 3 else None
    cached = len(sys.argv) > 4 and sys.argv[4] == "cached"
    web.run_app(
        app(sys.argv[2], database, cached), port=int(sys.argv[1]), print=None, access_log=None
    )
