"""Listeners keep working after their ack; `tracked` lets shutdown wait for them."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

Listener = Callable[..., Awaitable[None]]


def tracked(listener: Listener) -> Listener:
    """Register the listener's task as in-flight work of the app's services.

    Bolt reads the arguments a listener wants from the wrapped function, so the listener
    must take `context` (where the services are).
    """

    @functools.wraps(listener)
    async def wrapper(**kwargs: Any) -> None:
        if "context" not in kwargs:
            raise TypeError(f"{listener.__name__} must take `context` to be tracked")
        kwargs["context"]["services"].track()
        await listener(**kwargs)

    return wrapper
