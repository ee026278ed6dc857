"""The node client against the node emulator: tokens, logins, expiry, paging, odd answers,
slow and absent nodes."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest
from pydantic import SecretStr

from bot.backend.base import BackendError, ConnectionRef, NotSupported
from bot.backend.node import ExalateNode, NodeRefused
from tests.node_emulator import NodeEmulator
from tests.seeds import SPEC


async def _no_sleep(_: float) -> None:
    return None


def client(node: NodeEmulator, **kwargs: Any) -> ExalateNode:
    if "token" not in kwargs:
        kwargs.setdefault("user", node.user)
        kwargs.setdefault("password", SecretStr(node.password))
    return ExalateNode(base_url=node.base_url, instance="acme", sleep=_no_sleep, **kwargs)


async def test_a_static_token_goes_in_the_header(node: NodeEmulator) -> None:
    node.add_static_token("static-token-123456")
    node.add_connection("acme_to_partnerco", status="ACTIVE", id=9)
    exalate = client(node, token=SecretStr("static-token-123456"))
    try:
        assert await exalate.statuses([ConnectionRef("9", "ACME_to_PartnerCo")]) == {"9": "ACTIVE"}
    finally:
        await exalate.close()
    [call] = node.calls_to("connections")
    assert call.jwt == "static-token-123456" and call.content_type == "application/json"
    assert node.calls_to("authenticate") == [] and node.problems == []


@pytest.mark.parametrize("jwt_in", ["header", "body"])
async def test_login_once_and_reuse_the_jwt(jwt_in: str) -> None:
    async with NodeEmulator(jwt_in=jwt_in) as node:
        exalate = client(node)
        try:
            for _ in range(3):
                await exalate.connections()
            page = await exalate.search_projects("sup")
        finally:
            await exalate.close()
        assert [p.key for p in page.projects] == ["SUP"]
        assert len(node.calls_to("authenticate")) == 1
        [login] = node.calls_to("authenticate")
        assert login.json == {"authProtocol": "basic", "user": node.user, "password": "***"}


async def test_the_jwt_is_renewed_before_it_expires(node: NodeEmulator) -> None:
    now = [time.time()]
    node.token_ttl = 3600
    exalate = client(node, wall_clock=lambda: now[0])
    try:
        await exalate.connections()
        now[0] += 3600 - 30  # within a minute of `exp` (which the node gives in milliseconds)
        await exalate.connections()
    finally:
        await exalate.close()
    # the emulator's real clock: the first token is still valid, yet the client renewed it
    assert len(node.calls_to("authenticate")) == 2


async def test_a_401_mid_session_logs_in_again(node: NodeEmulator) -> None:
    exalate = client(node)
    try:
        await exalate.connections()
        node.expire_tokens()  # e.g. the node restarted
        assert await exalate.connections() == []
    finally:
        await exalate.close()
    assert [c.status for c in node.calls_to("connections")] == [200, 401, 200]
    assert len(node.calls_to("authenticate")) == 2


async def test_refused_credentials_are_said_plainly(node: NodeEmulator) -> None:
    wrong = client(node, password=SecretStr("not-the-password"))
    static = client(node, token=SecretStr("revoked-token-987654"))
    try:
        with pytest.raises(NodeRefused, match="refused the bot's user and password") as login:
            await wrong.connections()
        with pytest.raises(NodeRefused, match="check EXALATE_NODE_TOKEN") as token:
            await static.connections()
    finally:
        await wrong.close()
        await static.close()
    for error in (login.value, token.value):
        assert "not-the-password" not in str(error) and "revoked-token" not in str(error)


async def test_paging_collects_every_connection() -> None:
    async with NodeEmulator(page_size=2) as node:
        for n in range(5):
            node.add_connection(f"c{n}", status="ACTIVE")
        exalate = client(node)
        try:
            found = await exalate.connections()
        finally:
            await exalate.close()
        assert [c.name for c in found] == ["c0", "c1", "c2", "c3", "c4"]
        assert [c.query["start"] for c in node.calls_to("connections")] == ["0", "2", "4"]


async def test_extra_fields_and_unknown_statuses_are_tolerated_and_noted_once(
    node: NodeEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    node.add_connection("a", status="ARCHIVED", colour="teal", nested={"x": [1]})
    node.add_connection("b", status="ARCHIVED")
    node.add_connection("c", status="active")
    exalate = client(node)
    try:
        with caplog.at_level(logging.WARNING):
            first = await exalate.connections()
            await exalate.connections()
    finally:
        await exalate.close()
    assert [(c.name, c.status) for c in first] == [
        ("a", "ARCHIVED"),
        ("b", "ARCHIVED"),
        ("c", "ACTIVE"),
    ]
    assert sum("unknown status 'ARCHIVED'" in r.getMessage() for r in caplog.records) == 1


async def test_reads_are_retried_on_5xx(node: NodeEmulator) -> None:
    node.fail_next("connections", status=503, times=2)
    exalate = client(node)
    try:
        assert await exalate.connections() == []
    finally:
        await exalate.close()
    assert [c.status for c in node.calls_to("connections")] == [503, 503, 200]


@pytest.mark.parametrize(
    ("fault", "says"),
    [
        ({"status": 500, "times": 3}, "is failing (HTTP 500)"),
        ({"status": None, "delay": 1.0, "times": 3}, "did not answer within 0.3s"),
        ({"malformed": True}, "not JSON"),
        ({"malformed": True, "body": {"results": "nope"}}, "unexpected shape"),
    ],
)
async def test_a_failing_node_gives_a_clear_error(
    node: NodeEmulator, fault: dict[str, Any], says: str
) -> None:
    node.fail_next("connections", **fault)
    exalate = client(node, timeout=0.3)
    try:
        with pytest.raises(BackendError, match=says.replace("(", r"\(").replace(")", r"\)")):
            await exalate.connections()
    finally:
        await exalate.close()


async def test_a_node_that_is_down(node: NodeEmulator) -> None:
    node.down = True
    exalate = client(node)
    try:
        with pytest.raises(BackendError, match="is not reachable"):
            await exalate.search_projects("")
    finally:
        await exalate.close()
    node.down = False


async def test_projects_for_the_wizard(node: NodeEmulator) -> None:
    node.add_project("OPS", "Operations", lead="ops-lead")
    exalate = client(node)
    try:
        everything = await exalate.search_projects("")
        ops = await exalate.search_projects("oper")
    finally:
        await exalate.close()
    assert {p.key for p in everything.projects} >= {"SUP", "DEV", "OPS"}
    assert [(p.key, p.name) for p in ops.projects] == [("OPS", "Operations")]
    assert node.calls_to("scopeparams/search")[-1].query == {"project": "oper"}


async def test_attach_needs_a_pending_connection_of_that_name(node: NodeEmulator) -> None:
    exalate = client(node)
    try:
        with pytest.raises(NodeRefused, match="no connection named `acme_to_partnerco`"):
            await exalate.attach(SPEC, "pasted-code-0123456789")
        node.add_connection("acme_to_partnerco", status="ACTIVE", id=77)
        with pytest.raises(NodeRefused, match="is ACTIVE on the node, not Pending"):
            await exalate.attach(SPEC, "pasted-code-0123456789")
        node.set_status("acme_to_partnerco", "PENDING")
        attached = await exalate.attach(SPEC, "pasted-code-0123456789")
        with pytest.raises(NotSupported):
            await exalate.initiate(SPEC)
    finally:
        await exalate.close()
    assert attached.backend_id == "77" and "pasted-code" not in repr(attached)


async def test_a_vanished_connection_is_left_out(node: NodeEmulator) -> None:
    node.add_connection("kept", status="PENDING")
    exalate = client(node)
    try:
        statuses = await exalate.statuses([ConnectionRef(None, "kept"), ConnectionRef("5", "gone")])
    finally:
        await exalate.close()
    assert statuses == {"kept": "PENDING"}
