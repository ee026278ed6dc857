"""The Exalate node emulator (tests/node_emulator.py), driven with plain aiohttp client calls."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import jwt
import pytest

from tests.node_emulator import NodeEmulator, decode_jwt_payload

JSON = {"Content-Type": "application/json"}


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def authenticate(
    http: aiohttp.ClientSession, node: NodeEmulator, *, password: str | None = None
) -> aiohttp.ClientResponse:
    body = {"authProtocol": "basic", "user": node.user, "password": password or node.password}
    async with http.post(node.url("authenticate"), json=body, headers=JSON) as resp:
        await resp.read()
        return resp


async def get(
    http: aiohttp.ClientSession,
    node: NodeEmulator,
    path: str,
    token: str | None,
    **params: Any,
) -> tuple[int, Any]:
    headers = dict(JSON)
    if token is not None:
        headers["X-exalate-jwt"] = token
    async with http.get(node.url(path), params=params, headers=headers) as resp:
        return resp.status, await resp.json(content_type=None)


# -- authenticate ------------------------------------------------------------------------------


async def test_authenticate_returns_the_jwt_in_the_header(node, http) -> None:
    before = time.time()
    resp = await authenticate(http, node)
    assert resp.status == 200
    token = resp.headers["X-Exalate-Jwt"]
    header, _payload, signature = token.split(".")
    assert json.loads(base64.urlsafe_b64decode(header + "==")) == {"alg": "HS256", "typ": "JWT"}
    assert len(base64.urlsafe_b64decode(signature + "=")) == 32  # an HMAC-SHA256
    claims = decode_jwt_payload(token)
    assert claims["sub"] == "exalate-admin"
    # exp is in MILLISECONDS, about token_ttl (3600 s) from now
    assert before * 1000 + 3_599_000 <= claims["exp"] <= time.time() * 1000 + 3_601_000
    status, _ = await get(http, node, "connections", token)
    assert status == 200
    assert node.problems == []


async def test_authenticate_returns_the_jwt_in_the_body() -> None:
    async with (
        NodeEmulator(jwt_in="body", token_ttl=60) as node,
        aiohttp.ClientSession() as http,
    ):
        body = {"authProtocol": "basic", "user": node.user, "password": node.password}
        async with http.post(node.url("authenticate"), json=body, headers=JSON) as resp:
            assert resp.status == 200
            assert "X-Exalate-Jwt" not in resp.headers
            token = (await resp.json())["token"]
        exp = decode_jwt_payload(token)["exp"]
        assert abs(exp - (time.time() + 60) * 1000) < 5_000
        status, _ = await get(http, node, "connections", token)
        assert status == 200


async def test_wrong_password_is_401(node, http) -> None:
    resp = await authenticate(http, node, password="wrong")
    assert resp.status == 401
    assert "X-Exalate-Jwt" not in resp.headers
    async with http.post(
        node.url("authenticate"),
        json={"authProtocol": "basic", "user": "someone-else", "password": node.password},
        headers=JSON,
    ) as resp:
        assert resp.status == 401
        error = await resp.json()
    assert error["status"] == 401 and error["message"]


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"",
        b'["basic"]',
        b'{"authProtocol": "oauth", "user": "exalate-admin", "password": "s3cret"}',
        b'{"authProtocol": "basic", "user": "exalate-admin"}',
    ],
)
async def test_bad_authenticate_requests_are_400(node, http, body: bytes) -> None:
    async with http.post(node.url("authenticate"), data=body, headers=JSON) as resp:
        assert resp.status == 400
        assert (await resp.json())["status"] == 400


async def test_the_recorded_password_is_masked(node, http) -> None:
    await authenticate(http, node)
    await authenticate(http, node, password="wrong-secret")
    calls = node.calls_to("authenticate")
    assert [c.status for c in calls] == [200, 401]
    assert all(c.json["password"] == "***" for c in calls)
    assert calls[0].json == {"authProtocol": "basic", "user": "exalate-admin", "password": "***"}
    token = node.issue_token()
    await get(http, node, "connections", token)
    printed = repr(node.calls) + repr(node)
    secrets = {"password": "s3cret", "wrong password": "wrong-secret", "token": token}
    leaked = [name for name, value in secrets.items() if value in printed]
    assert leaked == []


# -- tokens ------------------------------------------------------------------------------------


async def test_requests_without_a_valid_token_are_401(node, http) -> None:
    good = node.issue_token()
    header, payload, signature = good.split(".")
    tampered = f"{header}.{payload}.{signature[::-1]}"
    for path in ("connections", "scopeparams/search"):
        for token in (None, "", "garbage", "a.b.c", tampered):
            status, body = await get(http, node, path, token)
            assert status == 401, (path, token is None)
            assert body["status"] == 401
    assert node.calls_to("connections")[0].jwt is None
    assert (await get(http, node, "connections", good))[0] == 200


async def test_expired_tokens_are_401(node, http) -> None:
    assert (await get(http, node, "connections", node.issue_token(ttl=-1)))[0] == 401
    short = node.issue_token(ttl=0.2)
    assert (await get(http, node, "connections", short))[0] == 200
    await asyncio.sleep(0.3)
    assert (await get(http, node, "connections", short))[0] == 401


async def test_token_ttl_shortens_the_tokens_authenticate_issues() -> None:
    async with NodeEmulator(token_ttl=0.2) as node, aiohttp.ClientSession() as http:
        token = (await authenticate(http, node)).headers["X-Exalate-Jwt"]
        assert (await get(http, node, "connections", token))[0] == 200
        await asyncio.sleep(0.3)
        assert (await get(http, node, "connections", token))[0] == 401


async def test_expire_tokens_invalidates_every_jwt_issued_so_far(node, http) -> None:
    old = (await authenticate(http, node)).headers["X-Exalate-Jwt"]
    issued = node.issue_token()
    node.add_static_token("static-token")
    node.expire_tokens()
    assert (await get(http, node, "connections", old))[0] == 401
    assert (await get(http, node, "connections", issued))[0] == 401
    assert (await get(http, node, "connections", "static-token"))[0] == 200
    new = (await authenticate(http, node)).headers["X-Exalate-Jwt"]
    assert (await get(http, node, "connections", new))[0] == 200


async def test_static_token(node, http) -> None:
    assert (await get(http, node, "connections", "my-static-token"))[0] == 401
    node.add_static_token("my-static-token")
    status, body = await get(http, node, "scopeparams/search", "my-static-token", project="")
    assert status == 200
    assert body["results"]


# -- connections -------------------------------------------------------------------------------


async def test_connections_are_paged() -> None:
    async with NodeEmulator(page_size=2) as node, aiohttp.ClientSession() as http:
        for n in range(5):
            node.add_connection(f"conn-{n}", status="ACTIVE")
        token = node.issue_token()
        pages = []
        for start in (0, 2, 4):
            status, body = await get(http, node, "connections", token, start=start)
            assert status == 200
            assert body["total"] == 5
            pages.append([c["name"] for c in body["results"]])
        assert pages == [["conn-0", "conn-1"], ["conn-2", "conn-3"], ["conn-4"]]
        # limit cannot exceed page_size; past the end: an empty page, same total
        status, body = await get(http, node, "connections", token, start=0, limit=100)
        assert len(body["results"]) == 2
        status, body = await get(http, node, "connections", token, start=1, limit=1)
        assert [c["name"] for c in body["results"]] == ["conn-1"]
        status, body = await get(http, node, "connections", token, start=10)
        assert body == {"total": 5, "results": []}
        assert [c.query for c in node.calls_to("connections")][:3] == [
            {"start": "0"},
            {"start": "2"},
            {"start": "4"},
        ]
        for bad in ({"start": "x"}, {"limit": "-1"}):
            assert (await get(http, node, "connections", token, **bad))[0] == 400


async def test_connection_shape_ids_and_extra_fields(node, http) -> None:
    first = node.add_connection("Alpha")
    node.add_connection(
        "Beta",
        status="ACTIVE",
        remote_url="https://beta.example",
        instanceType="JIRA_CLOUD",
        tracker={"type": "jira"},
    )
    node.add_connection("Gamma", id=42, status="DEACTIVATED")
    node.add_connection("Delta")
    assert first["id"] == 1
    token = node.issue_token()
    status, body = await get(http, node, "connections", token)
    assert status == 200
    assert body["total"] == 4
    alpha, beta, gamma, delta = body["results"]
    assert alpha == {"id": 1, "name": "Alpha", "status": "PENDING"}  # no remoteUrl unless given
    assert beta["id"] == 2 and beta["status"] == "ACTIVE"
    assert beta["communication"] == {"remoteUrl": "https://beta.example"}
    assert beta["instanceType"] == "JIRA_CLOUD" and beta["tracker"] == {"type": "jira"}
    assert (gamma["id"], gamma["status"]) == (42, "DEACTIVATED")
    assert delta["id"] == 43

    node.set_status("Alpha", "ACTIVE")
    node.remove_connection("Gamma")
    status, body = await get(http, node, "connections", token)
    assert body["total"] == 3
    assert [(c["name"], c["status"]) for c in body["results"]] == [
        ("Alpha", "ACTIVE"),
        ("Beta", "ACTIVE"),
        ("Delta", "PENDING"),
    ]
    with pytest.raises(ValueError):
        node.add_connection("Alpha")
    with pytest.raises(KeyError):
        node.set_status("Nope", "ACTIVE")


async def test_rename_and_any_status_keep_the_id_and_the_place(node, http) -> None:
    node.add_connection("Alpha", id=7)
    node.add_connection("Beta")
    node.rename_connection("Alpha", "Alpha renamed")
    node.set_status("Alpha renamed", "PAUSED")
    _, body = await get(http, node, "connections", node.issue_token())
    assert [(c["id"], c["name"], c["status"]) for c in body["results"]] == [
        (7, "Alpha renamed", "PAUSED"),
        (8, "Beta", "PENDING"),
    ]
    node.set_status("Beta", 3)  # a node that answers oddly
    _, body = await get(http, node, "connections", node.issue_token())
    assert body["results"][1]["status"] == 3
    with pytest.raises(ValueError):
        node.rename_connection("Beta", "Alpha renamed")
    with pytest.raises(KeyError):
        node.connection("Alpha")


async def test_paging_can_be_ignored_repeated_and_without_total(http) -> None:
    async with NodeEmulator(page_size=2) as node:
        for n in range(5):
            node.add_connection(f"c{n}", status="ACTIVE")
        token = node.issue_token()

        async def page(**query: Any) -> tuple[list[str], Any]:
            _, body = await get(http, node, "connections", token, **query)
            return [c["name"] for c in body["results"]], body.get("total")

        node.paging = "ignore"
        assert await page(start=2, limit=1) == (["c0", "c1", "c2", "c3", "c4"], 5)
        node.paging = "repeat_last"
        assert await page(start=2) == (["c2", "c3"], 5)
        assert await page(start=5) == (["c4"], 5)  # past the end: the last page again
        assert await page(start=9, limit=2) == (["c4"], 5)
        node.omit_total = True
        assert await page(start=0) == (["c0", "c1"], None)
    with pytest.raises(ValueError, match="paging must be one of"):
        NodeEmulator(paging="sometimes")


async def test_projects_with_a_name_alone(node, http) -> None:
    node.projects_name_only = True
    _, body = await get(http, node, "scopeparams/search", node.issue_token(), project="sup")
    assert body == {"results": [{"name": "Support"}]}


# -- projects ----------------------------------------------------------------------------------


async def test_project_search_filters_by_name_or_key(node, http) -> None:
    node.add_project("OPS", "Operations", projectTypeKey="software")
    token = node.issue_token()

    async def search(query: str | None) -> list[str]:
        params = {} if query is None else {"project": query}
        status, body = await get(http, node, "scopeparams/search", token, **params)
        assert status == 200
        return [p["key"] for p in body["results"]]

    assert await search("") == ["SUP", "DEV", "OPS"]
    assert await search(None) == ["SUP", "DEV", "OPS"]
    assert await search("sup") == ["SUP"]  # key, case-insensitively
    assert await search("OPMENT") == ["DEV"]  # name, case-insensitively
    assert await search("o") == ["SUP", "DEV", "OPS"]  # supp-o-rt, devel-o-pment, o-perations
    assert await search("zzz") == []
    _, body = await get(http, node, "scopeparams/search", token, project="ops")
    ops = body["results"][0]
    assert ops["name"] == "Operations" and ops["projectTypeKey"] == "software"
    assert isinstance(ops["id"], int)
    assert node.calls_to("scopeparams/search")[2].query == {"project": "sup"}


async def test_project_search_returns_at_most_50(node, http) -> None:
    for n in range(60):
        node.add_project(f"P{n}", f"Project {n}")
    status, body = await get(http, node, "scopeparams/search", node.issue_token(), project="proj")
    assert status == 200
    assert len(body["results"]) == 50


# -- faults ------------------------------------------------------------------------------------


async def test_fail_next_answers_the_status_then_recovers(node, http) -> None:
    token = node.issue_token()
    node.fail_next("connections", status=500, times=2)
    node.fail_next("connections", status=503, body={"message": "maintenance"})
    answers = [await get(http, node, "connections", token) for _ in range(4)]
    assert [status for status, _ in answers] == [500, 500, 503, 200]
    assert answers[0][1]["status"] == 500
    assert answers[2][1] == {"message": "maintenance"}
    assert [c.faulted for c in node.calls_to("connections")] == [True, True, True, False]
    # faults are per path: other paths are unaffected
    node.fail_next("/rest/issuehub/4.0/authenticate", status=502)
    assert (await get(http, node, "scopeparams/search", token))[0] == 200
    assert (await authenticate(http, node)).status == 502
    assert (await authenticate(http, node)).status == 200
    with pytest.raises(ValueError):
        node.fail_next("conections")


async def test_fail_next_delay_makes_a_client_time_out(node, http) -> None:
    token = node.issue_token()
    node.fail_next("connections", delay=5.0)
    started = time.monotonic()
    with pytest.raises(asyncio.TimeoutError):
        async with http.get(
            node.url("connections"),
            headers={**JSON, "X-exalate-jwt": token},
            timeout=aiohttp.ClientTimeout(total=0.3),
        ) as resp:
            await resp.read()
    assert time.monotonic() - started < 2.0
    # the fault is used up: the next request is answered normally
    assert (await get(http, node, "connections", token))[0] == 200


async def test_fail_next_delay_without_status_is_a_slow_success(node, http) -> None:
    node.fail_next("connections", status=None, delay=0.2)
    started = time.monotonic()
    status, body = await get(http, node, "connections", node.issue_token())
    assert status == 200 and body == {"total": 0, "results": []}
    assert time.monotonic() - started >= 0.2


async def test_fail_next_malformed(node, http) -> None:
    token = node.issue_token()
    node.fail_next("connections", malformed=True)
    node.fail_next("connections", malformed=True, body={"unexpected": []})
    headers = {**JSON, "X-exalate-jwt": token}
    async with http.get(node.url("connections"), headers=headers) as resp:
        assert resp.status == 200
        text = await resp.text()
        with pytest.raises(aiohttp.ContentTypeError):
            await resp.json()
    assert text.startswith("<html>")
    async with http.get(node.url("connections"), headers=headers) as resp:
        assert resp.status == 200
        assert await resp.json() == {"unexpected": []}
    node.fail_next("connections", malformed=True, body='{"results": [')
    async with http.get(node.url("connections"), headers=headers) as resp:
        assert resp.status == 200 and resp.content_type == "application/json"
        with pytest.raises(ValueError):
            await resp.json()
    # malformed also works for authenticate: no token anywhere
    node.fail_next("authenticate", malformed=True)
    resp = await authenticate(http, node)
    assert resp.status == 200 and "X-Exalate-Jwt" not in resp.headers


# -- down --------------------------------------------------------------------------------------


async def test_down_drops_every_connection(node, http) -> None:
    token = node.issue_token()
    assert (await get(http, node, "connections", token))[0] == 200  # a keep-alive connection
    node.down = True
    with pytest.raises(aiohttp.ClientError):
        await get(http, node, "connections", token)
    with pytest.raises(aiohttp.ClientError):
        await authenticate(http, node)
    dropped = [c for c in node.calls if c.dropped]
    assert dropped and all(c.status is None for c in dropped)
    node.down = False
    assert (await get(http, node, "connections", token))[0] == 200
    assert (await authenticate(http, node)).status == 200


# -- odds and ends -----------------------------------------------------------------------------


async def test_urls_and_unknown_paths(node, http) -> None:
    assert node.base_url.startswith("http://127.0.0.1:")
    assert not node.base_url.endswith("/")
    assert node.connections_url == node.base_url + "/#/connections"
    assert node.url("connections") == node.base_url + "/rest/issuehub/4.0/connections"
    token = node.issue_token()
    assert (await get(http, node, "nonexistent", token))[0] == 404
    async with http.post(node.url("connections"), json={}, headers=JSON) as resp:
        assert resp.status == 405


async def test_a_missing_content_type_is_a_problem(node, http) -> None:
    token = node.issue_token()
    async with http.get(node.url("connections"), headers={"X-exalate-jwt": token}) as resp:
        assert resp.status == 200
    assert node.problems == ["GET connections: Content-Type is 'missing', not 'application/json'"]


async def test_pyjwt_reads_the_token_and_exp_is_in_milliseconds(node) -> None:
    token = node.issue_token(ttl=60)
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["sub"] == node.user
    assert claims["exp"] > time.time() * 100  # milliseconds, not seconds
