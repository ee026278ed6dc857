"""The emulator's Socket Mode endpoint: the WebSocket the bot dials (after
apps.connections.open), Slack's hello, envelopes sent to the bot and its acks. One per app:
the events of every workspace come over it."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

from aiohttp import WSMsgType, web

from bot.devtools.emulator_calls import JsonDict
from bot.devtools.emulator_routing import WorkspaceRouter
from bot.devtools.slack_facts import LIMITS


class SocketMode(WorkspaceRouter):
    def __init__(self, **identity: Any) -> None:
        super().__init__(**identity)
        self._sockets: list[web.WebSocketResponse] = []
        self._socket_connected = asyncio.Event()
        self._acks: dict[str, asyncio.Future[JsonDict]] = {}

    async def _handle_socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)  # answers the client's pings with pongs
        await ws.prepare(request)
        self._sockets.append(ws)
        self._socket_connected.set()
        await ws.send_json(
            {
                "type": "hello",
                "num_connections": len(self._sockets),
                "debug_info": {
                    "host": "applink-emulator",
                    "build_number": 1,
                    "approximate_connection_time": 18060,
                },
                "connection_info": {"app_id": self.app_id},
            }
        )
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    self._on_socket_message(msg.data)
        finally:
            self._sockets.remove(ws)
            if not self._sockets:
                self._socket_connected.clear()
        return ws

    def _on_socket_message(self, data: str) -> None:
        try:
            ack = json.loads(data)
            future = self._acks.pop(ack["envelope_id"])
        except (ValueError, KeyError, TypeError):
            self._problem("socket", [f"unexpected message {data[:200]!r}"])
            return
        if not future.done():
            future.set_result(ack)

    async def socket_connected(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        await asyncio.wait_for(self._socket_connected.wait(), timeout)

    async def socket_send(
        self,
        type: str,
        payload: JsonDict,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109 (the tests' API; wait_for inside)
    ) -> JsonDict:
        """Send an envelope to the connected client and return its ack."""
        await self.socket_connected(timeout)
        envelope_id = str(uuid.uuid4())
        future: asyncio.Future[JsonDict] = asyncio.get_running_loop().create_future()
        self._acks[envelope_id] = future
        started = time.monotonic()
        await self._sockets[-1].send_json(
            {
                "envelope_id": envelope_id,
                "type": type,
                "payload": payload,
                "accepts_response_payload": True,
                "retry_attempt": 0,
                "retry_reason": "",
            }
        )
        try:
            ack = await asyncio.wait_for(future, timeout)
        except TimeoutError:
            raise TimeoutError(f"no ack for {type} envelope within {timeout}s") from None
        finally:
            self._acks.pop(envelope_id, None)
        elapsed = time.monotonic() - started
        if elapsed > LIMITS.ack_seconds:
            late = f"{type} acked after {elapsed:.1f}s (Slack allows {LIMITS.ack_seconds:g}s)"
            self._problem("socket", [late])
        return ack
