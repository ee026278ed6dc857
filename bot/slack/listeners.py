"""Listeners answer Slack the moment they ack, then keep working; `tracked` arranges both.

Bolt runs with `process_before_response=True`, so it answers as soon as a listener returns,
without polling for the ack (Bolt's default way polls every 10 ms). `tracked` runs the
listener as a task of its own and returns when the listener has acked (or finished, or
failed before acking, which Bolt's error handler then sees). The rest of the listener's work
goes on after the answer, counted as in-flight work (shutdown waits for it), and a failure
there is reported like any other (`report_failure`).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from bot.slack.errors import SLACK_FAILURES, ForThePerson, slack_error

log = logging.getLogger(__name__)

Listener = Callable[..., Awaitable[None]]
ACK_DEADLINE = 3.0  # seconds Slack waits; after that an answer is useless
GENERIC = ":warning: I couldn't finish that just now; please try again in a moment."


class _Ack:
    """Bolt's ack, which also says when it has been called."""

    def __init__(self, ack: Callable[..., Awaitable[Any]], called: asyncio.Event) -> None:
        self._ack, self._called = ack, called

    async def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return await self._ack(*args, **kwargs)
        finally:
            self._called.set()


def tracked(listener: Listener) -> Listener:
    """The listener, answering Slack at its ack and finishing its work afterwards.

    Bolt reads the arguments a listener wants from the wrapped function, so the listener
    must take `context` (where the services are).
    """

    @functools.wraps(listener)
    async def wrapper(**kwargs: Any) -> None:
        context = kwargs.get("context")
        if context is None:
            raise TypeError(f"{listener.__name__} must take `context` to be tracked")
        services = context["services"]
        acked = asyncio.Event()
        if "ack" in kwargs:
            kwargs["ack"] = _Ack(kwargs["ack"], acked)
        else:
            acked.set()  # events: Bolt acknowledges them itself
        task = asyncio.ensure_future(listener(**kwargs))
        services.track(task)
        waiting = asyncio.ensure_future(acked.wait())
        await asyncio.wait({task, waiting}, timeout=ACK_DEADLINE, return_when="FIRST_COMPLETED")
        waiting.cancel()
        if task.done() and not acked.is_set():
            task.result()  # a failure before the answer goes to Bolt's error handler
            return
        task.add_done_callback(functools.partial(_after_ack, services, context))

    return wrapper


def _after_ack(services: Any, context: Any, task: asyncio.Task[None]) -> None:
    if task.cancelled() or task.exception() is None:
        return
    services.track(
        asyncio.ensure_future(
            report_failure(task.exception(), kind="listener", respond=context.get("respond"))
        )
    )


async def report_failure(error: BaseException, *, kind: str, respond: Any = None) -> None:
    """Log a listener's failure (masked, with its type) and tell the person, where Slack gave
    us a way to, instead of leaving them with nothing. Slack's own refusals (a 429, a 5xx, an
    ok:false) are one warning line; only the bot's own bugs log a traceback."""
    if isinstance(error, ForThePerson):
        text = str(error)
        log.warning("%s: %s", kind, type(error).__name__)
    elif isinstance(error, SLACK_FAILURES):  # Slack refused or was away: expected, no traceback
        text = GENERIC
        log.warning("%s: Slack answered %s", kind, slack_error(error))
    else:
        text = GENERIC
        log.error("%s failed: %s", kind, type(error).__name__, exc_info=error)
    if respond is not None and getattr(respond, "response_url", "") is not None:
        try:  # (a respond without a response_url has no way to the person)
            await respond(
                text=text,
                response_type="ephemeral",
                replace_original=False,
            )
        except Exception as exc:  # the response_url may be gone too
            log.warning("could not tell the user about the failure: %s", type(exc).__name__)
