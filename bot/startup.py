"""The first minute with Slack: the bot token (`auth.test`) and, in Socket Mode, the app token
(`apps.connections.open`) are asked about once before the bot serves.

Three outcomes, told apart in one place (`REFUSALS`, `UNAVAILABLE`, `ask`):
- Slack refuses a token for good: `Refused`, whose text is the one line for stderr (the
  process exits 2, see bot/__main__.py);
- Slack can't be reached or is having trouble (connection refused, a timeout, a 5xx, a 429):
  `Unavailable`. The bot starts anyway, says so in one warning, and `SlackLink` keeps trying in
  the background (1 s doubling to 60 s, or Slack's Retry-After) until Slack answers; then it
  connects in Socket Mode;
- Slack answers: the bot carries on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable
from typing import Any

import aiohttp
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from bot.settings import Settings

log = logging.getLogger(__name__)

# Slack's `error` codes that refuse the token itself: asking again won't help, a person has to
# change the token (or the app's settings). Only these end the process.
REFUSALS = frozenset(
    {
        "not_authed",  # no token reached Slack
        "invalid_auth",  # not a token Slack knows (a typo, another app's, a deleted one)
        "account_inactive",  # the token's user or workspace was deactivated
        "token_revoked",  # revoked, or the app was uninstalled
        "token_expired",  # token rotation is on and this one ran out
        "not_allowed_token_type",  # an xoxb- where an xapp- is needed, or the other way round
        "missing_scope",  # an app token without connections:write
        "no_permission",  # the token may not call the method
        "team_access_not_granted",  # the workspace did not grant the (org-wide) app access
        "org_login_required",  # the workspace is being migrated to an org: not until done
        "ekm_access_denied",  # the workspace's admins suspended access (Slack EKM)
        "two_factor_setup_required",  # the workspace requires 2FA of the token's user
    }
)
# Slack's own trouble, said in an `error` code: not a refusal, ask again later. So are HTTP 429
# and 5xx whatever their body, timeouts, and every failure to reach Slack at all. A code in
# neither list (Slack adds some now and then) is not taken as a refusal either: the bot keeps
# trying, and the warning says what Slack answered.
UNAVAILABLE = frozenset(
    {"ratelimited", "fatal_error", "internal_error", "service_unavailable", "request_timeout"}
)

BACKOFF_FIRST = 1.0  # seconds before the first retry, doubled after each failure...
BACKOFF_CAP = 60.0  # ...up to this

FIXES = {
    "SLACK_BOT_TOKEN": (
        "SLACK_BOT_TOKEN: Slack refused the bot token ({error}); copy the Bot User OAuth Token "
        "(xoxb-…) from the app's OAuth & Permissions page, or reinstall the app."
    ),
    "SLACK_APP_TOKEN": (
        "SLACK_APP_TOKEN: Slack refused Socket Mode ({error}); use an app-level token with "
        "connections:write, or unset it for HTTP mode."
    ),
}


class Refused(Exception):
    """Slack refused a token for good. `str()` is one line naming the variable and the fix."""

    def __init__(self, variable: str, method: str, error: str) -> None:
        self.variable, self.method, self.error = variable, method, error
        super().__init__(FIXES[variable].format(error=error))


class Unavailable(Exception):
    """Slack could not be asked, or said it is in trouble: not an answer about the token."""

    def __init__(self, method: str, reason: str, retry_after: float | None = None) -> None:
        self.method, self.reason, self.retry_after = method, reason, retry_after
        super().__init__(f"{method}: {reason}")


def web_client(
    settings: Settings,
    *,
    token: str | None = None,
    retry_handlers: list[AsyncRetryHandler] | None = None,
    session: aiohttp.ClientSession | None = None,
) -> AsyncWebClient:
    """A Web API client for SLACK_API_URL with SLACK_TIMEOUT (the bot token unless `token`;
    none in OAuth mode, where each request's client gets its workspace's). Without
    `retry_handlers` it asks once: the caller decides when to ask again."""
    bot_token = settings.slack_bot_token
    return AsyncWebClient(
        token=token or (bot_token.get_secret_value() if bot_token else None),
        base_url=settings.slack_api_url,
        timeout=int(settings.slack_timeout.total_seconds()),
        retry_handlers=retry_handlers or [],
        session=session,
    )


async def ask(call: Awaitable[Any], *, method: str, variable: str) -> Any:
    """Await a Web API call; a definitive refusal raises `Refused` (naming `variable`), any
    other failure `Unavailable`."""
    try:
        return await call
    except SlackApiError as exc:
        answer = exc.response
        status = int(getattr(answer, "status_code", None) or getattr(answer, "status", 0) or 0)
        data = getattr(answer, "data", None)
        error = str(data.get("error") or "") if isinstance(data, dict) else ""
        if error in REFUSALS and status != 429 and status < 500:
            raise Refused(variable, method, error) from None
        headers = getattr(answer, "headers", None) or {}
        retry_after = _seconds(headers.get("Retry-After") or headers.get("retry-after"))
        said = [f"HTTP {status}"] if status != 200 else []
        said += [error] if error else []
        raise Unavailable(
            method, " ".join(said) or "an answer that is not Slack's", retry_after
        ) from None
    except Exception as exc:  # refused connection, DNS, TLS, timeout: Slack was not reached
        raise Unavailable(method, type(exc).__name__) from None


def _seconds(value: Any) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except (TypeError, ValueError):
        return None


class SlackLink:
    """The bot's start with Slack: `start()` asks once (raising `Refused`), and while Slack
    can't be reached keeps asking in the background; `refused` is set if a later answer
    refuses a token (`refusal` says which). In Socket Mode it connects once both tokens pass.

    A refusal after the start ends the process too (bot/__main__.py waits on `refused`): a bot
    whose token is refused can do nothing, and exit 2 tells the orchestrator and the person
    reading its log what to fix, where a bot up and healthy would hide it."""

    def __init__(
        self,
        settings: Settings,
        bolt: AsyncApp,
        *,
        backoff: tuple[float, float] = (BACKOFF_FIRST, BACKOFF_CAP),
    ) -> None:
        self.settings, self.bolt, self.backoff = settings, bolt, backoff
        self.identity: dict[str, Any] | None = None  # auth.test's answer, once it came
        self.socket: AsyncSocketModeHandler | None = None
        self.refusal: Refused | None = None
        self.refused = asyncio.Event()
        self.ready = asyncio.Event()  # Slack answered (and, in Socket Mode, the socket is open)
        self._client: AsyncWebClient | None = None
        self._retrying: asyncio.Task[None] | None = None
        self._connecting: asyncio.Future[None] | None = None
        self.connected = False  # in Socket Mode: the socket opened

    async def start(self) -> None:
        """Ask Slack once. Refused: raise. Unavailable: one warning, then retries."""
        self._client = web_client(self.settings, session=self.bolt.client.session)
        try:
            await self._attempt()
        except Unavailable as exc:
            log.warning(
                "Slack can't be reached at %s (%s); the bot starts anyway and keeps trying",
                self.settings.slack_api_url,
                exc,
            )
            self._retrying = asyncio.create_task(self._keep_trying(exc))

    async def _attempt(self) -> None:
        assert self._client is not None
        if self.identity is None and self.settings.slack_bot_token is not None:
            answer = await ask(
                self._client.auth_test(), method="auth.test", variable="SLACK_BOT_TOKEN"
            )
            self.identity = dict(answer.data)
            log.debug("Slack: workspace %s, bot user %s", answer.get("team"), answer.get("user"))
        app_token = self.settings.slack_app_token
        if app_token is not None and not self.connected:
            opened = await ask(
                self._client.apps_connections_open(app_token=app_token.get_secret_value()),
                method="apps.connections.open",
                variable="SLACK_APP_TOKEN",
            )
            url = opened.get("url")
            if not url:
                raise Unavailable("apps.connections.open", "no URL in the answer")
            await self._connect(app_token.get_secret_value(), str(url))
        self.ready.set()

    async def _connect(self, app_token: str, url: str) -> None:
        """Open the socket at the URL Slack just issued. A WebSocket that doesn't open within
        SLACK_TIMEOUT is given up (slack_sdk would try that same URL, soon stale, forever):
        `Unavailable`, and the next try asks Slack for a fresh URL."""
        if self.socket is None:
            self.socket = AsyncSocketModeHandler(self.bolt, app_token)
            self.socket.client.logger.addFilter(_ONE_LINE)
        self.socket.client.wss_uri = url  # slack_sdk connects to it without asking again
        connecting = self._connecting = asyncio.ensure_future(self.socket.connect_async())
        done, _ = await asyncio.wait({connecting}, timeout=self._timeout)
        if not done:
            connecting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await connecting
            raise Unavailable(
                "Socket Mode", f"the WebSocket did not open within {self._timeout:g}s"
            )
        connecting.result()
        self.connected = True
        log.info("connected in Socket Mode")

    @property
    def _timeout(self) -> float:
        return self.settings.slack_timeout.total_seconds()

    async def _keep_trying(self, problem: Unavailable) -> None:
        first, cap = self.backoff
        delay = first
        said = str(problem)
        while True:
            await asyncio.sleep(max(delay, problem.retry_after or 0.0))
            try:
                await self._attempt()
            except Unavailable as exc:
                problem, delay = exc, min(delay * 2, cap)
                if str(exc) != said:  # a new reason is worth a line; the same one is not
                    said = str(exc)
                    log.warning("Slack still can't be reached (%s); trying again", exc)
                else:
                    log.debug("Slack still can't be reached (%s); next try in %.0fs", exc, delay)
                continue
            except Refused as exc:
                self.refusal = exc
                log.error("%s", exc)
                self.refused.set()
                return
            log.info("Slack answers at %s; carrying on", self.settings.slack_api_url)
            return

    async def close(self) -> None:
        """Stop retrying and close the socket; prompt even in the middle of a retry."""
        for task in (self._retrying, self._connecting):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        if self.socket is not None:
            await self.socket.close_async()


class _OneLine(logging.Filter):
    """slack_sdk logs each failed WebSocket connect with its traceback, and tries again every
    10 s: one line each is enough."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.getMessage().startswith("Failed to connect"):
            record.exc_info, record.exc_text = None, None
        return True


_ONE_LINE = _OneLine()
