"""One effect per key, held in the database so it holds across replicas.

`Once.run(key, action)`: the first caller runs the action and leaves its result under the key;
a concurrent or later caller with the same key (a double click, a retried event, the same
submission twice) runs nothing and gets that result. An action that fails unexpectedly
releases the key, so a real retry can run.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from bot.services import Services
from storage import repo
from storage.db import transaction

KEEP = timedelta(days=1)
BUSY = {"error": "That is already being done; give it a moment."}


class Once:
    def __init__(self, services: Services, *, wait: float = 3.0) -> None:
        self.s = services
        self.wait = wait

    async def claim(self, key: str) -> bool:
        async with transaction(self.s.sessions) as session:
            return await repo.claim_key(session=session, key=key, now=self.s.clock.now())

    async def run(
        self,
        key: str,
        action: Callable[[], Awaitable[dict[str, Any]]],
        *,
        keep_errors: bool = False,
    ) -> tuple[bool, dict[str, Any]]:
        """(whether this call ran the action, the result). A result with an "error" releases
        the key (the next attempt runs again) unless `keep_errors`: then the same request
        gets the same refusal, except one marked "retry" (a passing failure)."""
        if not await self.claim(key):
            return False, await self.result(key)
        try:
            result = await action()
        except BaseException:
            await self.release(key)
            raise
        if "error" in result and (not keep_errors or result.get("retry")):
            await self.release(key)
            return True, result
        async with transaction(self.s.sessions) as session:
            await repo.set_key_result(session=session, key=key, result=result)
        return True, result

    async def result(self, key: str) -> dict[str, Any]:
        """What the first caller left; waits a little while it is still at work."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.wait
        while True:
            async with self.s.sessions() as session:
                held, result = await repo.key_state(session=session, key=key)
            if result is not None:
                return result
            if not held:
                return {"error": "The first attempt didn't go through; try again."}
            if loop.time() > deadline:
                return BUSY
            await asyncio.sleep(0.05)

    async def release(self, key: str) -> None:
        async with transaction(self.s.sessions) as session:
            await repo.release_key(session=session, key=key)

    async def purge(self) -> int:
        async with transaction(self.s.sessions) as session:
            return await repo.purge_keys(session=session, older_than=self.s.clock.now() - KEEP)
