"""The reading at the edge: a Bolt middleware that reads every request once, before Bolt
matches a listener, and answers itself what no listener could read.

Bolt's matchers index into the raw body (a block_actions whose action_id is 7 makes the
`^list_page_` regex matcher raise), and listeners used to read `body["user"]["id"]`: a
payload that lacked a part answered 500, with a traceback. Now `ReadPayload` puts the typed
reading (bot/slack/reading.py) in the context as `payload`, and a payload that fails it gets:

- a slash command: the ephemeral "I couldn't read that request" in the acknowledgement;
- a view submission: the modal updated to say so (a bare 200 would close it silently);
- a block_suggestion: no options;
- anything else: the same ephemeral on its response_url when it has a usable one, else a
  bare 200; and one warning line naming what was missing, never the body.

It also replaces Bolt's `respond` with `SafeRespond`: it answers only on a response_url of
Slack's (or the configured SLACK_API_URL's host, the emulator's in tests), and a missing,
dead or refusing response_url is one warning line, never an exception after the ack.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.webhook import WebhookResponse
from yarl import URL

from bot.slack.blocks import build_message_view
from bot.slack.errors import SLACK_FAILURES, slack_error
from bot.slack.reading import UNREADABLE, Unreadable, kind_of, read

log = logging.getLogger(__name__)

# where Slack's response_urls live (commands, actions; GovSlack's too)
SLACK_HOOKS = frozenset({("https", "hooks.slack.com", 443), ("https", "hooks.slack-gov.com", 443)})
UNREADABLE_TITLE = "Something went wrong"


class EdgeServices(Protocol):
    """What the edge needs of bot.services.Services."""

    @property
    def settings(self) -> Any: ...

    def track(self, task: asyncio.Task[Any] | None = None) -> None: ...


class ResponseUrls:
    """Which response_urls the bot answers on: Slack's hooks, and SLACK_API_URL's host."""

    def __init__(self, api_url: str) -> None:
        api = URL(api_url)
        self.origins = SLACK_HOOKS | {(api.scheme, api.host, api.port)}

    def usable(self, url: object) -> str | None:
        if not isinstance(url, str) or not url or len(url) > 2000:
            return None
        try:
            parsed = URL(url)
        except (ValueError, TypeError, UnicodeError):
            return None
        if not parsed.is_absolute() or parsed.user or parsed.password:
            return None
        return url if (parsed.scheme, parsed.host, parsed.port) in self.origins else None


class SafeRespond(AsyncRespond):
    """Bolt's respond(), to a checked response_url only, and never raising: Slack's refusal,
    a dead or missing response_url is one warning line (the reply is lost, nothing else)."""

    def __init__(self, response_url: str | None, *, timeout: float = 10.0) -> None:
        super().__init__(response_url=response_url)
        self.timeout = timeout

    async def __call__(self, *args: Any, **kwargs: Any) -> WebhookResponse | None:  # type: ignore[override]
        if self.response_url is None:
            log.warning("a reply was dropped: the request has no usable response_url")
            return None
        try:
            async with asyncio.timeout(self.timeout):
                response = await super().__call__(*args, **kwargs)
        except (*SLACK_FAILURES, ValueError) as exc:  # aiohttp's InvalidURL is a ValueError
            log.warning("response_url failed: %s", slack_error(exc))
            return None
        if response.status_code != 200:
            log.warning("response_url refused the reply: HTTP %s", response.status_code)
            return None
        return response


class _NoBodies(logging.Filter):
    """Bolt's "Unhandled request" warning prints the request's body (what a person typed):
    one line saying what kind of request no listener took, instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        if str(record.msg).startswith("Unhandled request"):
            record.msg, record.args = "Unhandled request: no listener took it", ()
        return True


class ReadPayload(AsyncMiddleware):
    """Reads each request once into context["payload"] (see the module's docstring)."""

    def __init__(self, services: EdgeServices) -> None:
        logging.getLogger("slack_bolt.AsyncApp").addFilter(_NO_BODIES)
        self.services = services
        self.urls = ResponseUrls(services.settings.slack_api_url)
        self.timeout = services.settings.slack_timeout.total_seconds()

    async def async_process(
        self,
        *,
        req: AsyncBoltRequest,
        resp: BoltResponse,
        next: Callable[[], Awaitable[BoltResponse]],
    ) -> BoltResponse | None:
        body = req.body
        try:
            payload = read(body)
        except Unreadable as refused:
            return self._refuse(body, str(refused))
        if payload is None:  # no listener reads its kind: Bolt's matchers never see it
            log.warning("ignored a request of a kind the bot doesn't handle")
            return BoltResponse(status=200, body="")
        url = self.urls.usable(payload.response_url)
        if url is None and payload.response_url is not None:  # not Slack's: never used
            payload = payload.model_copy(update={"response_url": None})
        req.context["payload"] = payload
        req.context["respond"] = SafeRespond(url, timeout=self.timeout)
        return await next()

    def _refuse(self, body: Any, what: str) -> BoltResponse:
        kind = kind_of(body)
        log.warning("refused a request (%s): %s", kind, what)
        if kind == "slash_command":
            return _json({"response_type": "ephemeral", "text": UNREADABLE})
        if kind == "view_submission":
            view = build_message_view(UNREADABLE_TITLE, UNREADABLE)
            return _json({"response_action": "update", "view": view})
        if kind == "block_suggestion":
            return _json({"options": []})
        url = self.urls.usable(_response_url(body))
        if url is not None:
            task = asyncio.ensure_future(
                SafeRespond(url, timeout=self.timeout)(
                    text=UNREADABLE, response_type="ephemeral", replace_original=False
                )
            )
            self.services.track(task)  # shutdown waits for it
        return BoltResponse(status=200, body="")


_NO_BODIES = _NoBodies()


def _response_url(body: Any) -> object:
    if not isinstance(body, dict):
        return None
    if "response_url" in body:
        return body["response_url"]
    urls = body.get("response_urls")
    if isinstance(urls, list) and urls and isinstance(urls[0], dict):
        return urls[0].get("response_url")
    return None


def _json(answer: dict[str, Any]) -> BoltResponse:
    return BoltResponse(status=200, body=answer)  # JSON, with its content-type
