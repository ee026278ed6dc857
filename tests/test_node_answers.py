"""The node client takes nothing on trust: paging a node ignores or repeats, no `total`,
projects with a name alone, connections followed by id, the destination's URL, and answers
of the wrong shape (one line for the admin, never a traceback)."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import SecretStr

from bot.backend import node as node_module
from bot.backend.base import BackendError, ConnectionRef, Reported
from bot.backend.node import PAGE_SIZE, ExalateNode, NodeRefused
from bot.backend.node_answers import normal_url, same_instance
from tests.node_emulator import NodeEmulator
from tests.seeds import SPEC

PUBLIC = dataclasses.replace(
    SPEC, destination="public", destination_url="https://Jira.PartnerCo.example/"
)


async def _no_sleep(_: float) -> None:
    return None


@pytest.fixture
async def exalate(node: NodeEmulator) -> AsyncIterator[ExalateNode]:
    client = ExalateNode(
        base_url=node.base_url,
        instance="acme",
        user=node.user,
        password=SecretStr(node.password),
        sleep=_no_sleep,
    )
    yield client
    await client.close()


def starts(node: NodeEmulator) -> list[str]:
    return [c.query.get("start", "") for c in node.calls_to("connections")]


# --- paging ------------------------------------------------------------------------------


@pytest.mark.parametrize("omit_total", [False, True])
async def test_a_node_that_ignores_paging_gives_its_whole_list_once(
    node: NodeEmulator, exalate: ExalateNode, omit_total: bool
) -> None:
    node.paging, node.omit_total = "ignore", omit_total
    for n in range(PAGE_SIZE * 2 + 20):  # more than a page: the node sent more than asked
        node.add_connection(f"c{n}", status="ACTIVE")
    found = await exalate.connections()
    assert [c.name for c in found] == [f"c{n}" for n in range(PAGE_SIZE * 2 + 20)]
    assert starts(node) == ["0"]


async def test_a_small_node_that_ignores_paging_without_total(
    node: NodeEmulator, exalate: ExalateNode
) -> None:
    node.paging, node.omit_total = "ignore", True
    for n in range(7):
        node.add_connection(f"c{n}", status="PENDING")
    assert len(await exalate.connections()) == 7
    assert starts(node) == ["0", "7"]  # the same list again adds nothing: the end


async def test_a_node_that_repeats_its_last_page_past_the_end() -> None:
    async with NodeEmulator(page_size=2, paging="repeat_last", omit_total=True) as node:
        for n in range(4):
            node.add_connection(f"c{n}", status="ACTIVE")
        exalate = ExalateNode(
            base_url=node.base_url, instance="acme", user=node.user, password=SecretStr("s3cret")
        )
        try:
            found = await exalate.connections()
        finally:
            await exalate.close()
        assert [c.name for c in found] == ["c0", "c1", "c2", "c3"]
        assert starts(node) == ["0", "2", "4"]  # start=4 answered c2, c3 again: the end


async def test_a_node_that_sends_the_same_page_for_ever_is_asked_twice(
    node: NodeEmulator, exalate: ExalateNode
) -> None:
    page = {"results": [{"id": n, "name": f"c{n}", "status": "ACTIVE"} for n in range(PAGE_SIZE)]}
    node.fail_next("connections", malformed=True, body=page, times=50)
    assert len(await exalate.connections()) == PAGE_SIZE
    assert starts(node) == ["0", str(PAGE_SIZE)]


async def test_a_node_that_caps_the_page_below_the_bots_and_gives_no_total() -> None:
    async with NodeEmulator(page_size=2, omit_total=True) as node:
        for n in range(5):
            node.add_connection(f"c{n}", status="ACTIVE")
        exalate = ExalateNode(
            base_url=node.base_url, instance="acme", user=node.user, password=SecretStr("s3cret")
        )
        try:
            found = await exalate.connections()
        finally:
            await exalate.close()
        # every page is shorter than the bot asked: only the one shorter than the others ends it
        assert [c.name for c in found] == ["c0", "c1", "c2", "c3", "c4"]
        assert starts(node) == ["0", "2", "4"]


async def test_a_connection_listed_twice_is_kept_once(
    node: NodeEmulator, exalate: ExalateNode
) -> None:
    twice = [
        {"id": 1, "name": "one", "status": "ACTIVE"},
        {"id": 2, "name": "two", "status": "PENDING"},
        {"id": 1, "name": "one", "status": "ACTIVE"},
    ]
    node.fail_next("connections", malformed=True, body={"total": 3, "results": twice})
    node.fail_next("connections", malformed=True, body={"total": 3, "results": twice[1:]})
    found = await exalate.connections()
    assert [(c.id, c.name) for c in found] == [("1", "one"), ("2", "two")]
    assert starts(node) == ["0", "3"]  # `total` counted three; the second page added nothing


async def test_paging_stops_at_max_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    async with NodeEmulator(page_size=1, omit_total=True) as endless:
        for n in range(10):
            endless.add_connection(f"c{n}", status="ACTIVE")
        monkeypatch.setattr(node_module, "MAX_PAGES", 4)
        client = ExalateNode(
            base_url=endless.base_url,
            instance="acme",
            user=endless.user,
            password=SecretStr("s3cret"),
        )
        try:
            with pytest.raises(BackendError, match="lists more connections than expected"):
                await client.connections()
        finally:
            await client.close()
        assert len(endless.calls_to("connections")) == 4


# --- followed by id ----------------------------------------------------------------------


async def test_a_renamed_connection_is_still_found_by_its_id(
    node: NodeEmulator, exalate: ExalateNode
) -> None:
    node.add_connection("acme_to_partnerco", status="PENDING", id=41)
    node.add_connection("other", status="ACTIVE", id=42)
    node.rename_connection("acme_to_partnerco", "Acme ↔ PartnerCo")
    node.set_status("Acme ↔ PartnerCo", "ACTIVE")
    followed = ConnectionRef("41", "acme_to_partnerco")
    assert await exalate.reports([followed]) == {"41": Reported("ACTIVE", "41")}
    # an id the node doesn't have: gone, even if a connection of that name is there
    assert await exalate.reports([ConnectionRef("99", "other")]) == {}


async def test_without_an_id_the_name_finds_it_and_gives_its_id(
    node: NodeEmulator, exalate: ExalateNode
) -> None:
    node.add_connection("Legacy", status="DEACTIVATED", id="abc-7")
    assert await exalate.reports([ConnectionRef(None, "legacy")]) == {
        "legacy": Reported("DEACTIVATED", "abc-7")
    }


async def test_statuses_the_bot_does_not_know_come_as_they_are(
    node: NodeEmulator, exalate: ExalateNode
) -> None:
    node.add_connection("a", status="Paused", id=1)
    assert await exalate.statuses([ConnectionRef("1", "a")]) == {"1": "PAUSED"}


# --- the destination's URL ---------------------------------------------------------------


def test_urls_are_compared_on_scheme_host_and_path() -> None:
    assert normal_url("HTTPS://Jira.Example.com:443/Path/") == "https://jira.example.com/Path"
    assert same_instance("https://jira.example.com", "https://JIRA.example.com/")
    assert same_instance("http://x.example:80/a", "http://x.example/a/?q=1#f")
    assert not same_instance("https://x.example/a", "https://x.example/A")  # paths keep case
    assert not same_instance("https://x.example", "http://x.example")
    assert not same_instance("https://x.example:8443", "https://x.example")
    assert not same_instance("https://x.example", "https://y.example")


async def test_attach_checks_the_remote_url_when_the_node_gives_one(
    node: NodeEmulator, exalate: ExalateNode
) -> None:
    node.add_connection(
        "acme_to_partnerco", status="PENDING", id=5, remote_url="https://other.example"
    )
    with pytest.raises(NodeRefused) as refused:
        await exalate.attach(PUBLIC, "pasted-code-0123456789")
    message = str(refused.value)
    assert "connects to https://other.example, not to https://Jira.PartnerCo.example/" in message
    assert "\n" not in message and "pasted-code" not in message
    # a private destination has no URL to compare
    assert (await exalate.attach(SPEC, "pasted-code-0123456789")).backend_id == "5"
    node.connection("acme_to_partnerco")["communication"]["remoteUrl"] = (
        "https://jira.partnerco.example"
    )
    assert (await exalate.attach(PUBLIC, "pasted-code-0123456789")).backend_id == "5"
    del node.connection("acme_to_partnerco")["communication"]  # absent: nothing to check
    assert (await exalate.attach(PUBLIC, "pasted-code-0123456789")).backend_id == "5"


# --- projects ----------------------------------------------------------------------------


async def test_projects_with_a_name_alone(node: NodeEmulator, exalate: ExalateNode) -> None:
    node.projects_name_only = True
    page = await exalate.search_projects("")
    assert [(p.key, p.name) for p in page.projects] == [
        ("Support", "Support"),
        ("Development", "Development"),
    ]
    assert (page.total, page.complete) == (2, True)
    assert node.calls_to("scopeparams/search")[-1].status == 200
    for n in range(60):
        node.add_project(f"P{n}", f"Project {n}")
    full = await exalate.search_projects("project")
    assert (len(full.projects), full.total, full.complete) == (50, 50, False)  # maybe more


async def test_projects_with_an_id_but_no_key(node: NodeEmulator, exalate: ExalateNode) -> None:
    node.fail_next(
        "scopeparams/search",
        malformed=True,
        body={"results": [{"name": "Ops", "id": 10400}, {"name": "Ops", "id": 10400}]},
    )
    page = await exalate.search_projects("ops")
    assert [(p.key, p.name) for p in page.projects] == [("10400", "Ops")]


# --- answers of the wrong shape ------------------------------------------------------------

CONNECTIONS = [
    ({"malformed": True}, "not JSON"),
    ({"malformed": True, "body": '{"results": [{"id": 1,'}, "not JSON"),
    ({"malformed": True, "body": ["a", "list"]}, "it is not a JSON object"),
    ({"malformed": True, "body": {"total": 1}}, "it has no list of `results`"),
    ({"malformed": True, "body": {"results": ["x"]}}, "connection 1 is not an object"),
    ({"malformed": True, "body": {"results": [{"id": 1, "status": "A"}]}}, "no `name` string"),
    (
        {"malformed": True, "body": {"results": [{"id": {"x": 1}, "name": "n", "status": "A"}]}},
        "connection 1 (`n`) has no `id`",
    ),
    (
        {"malformed": True, "body": {"results": [{"id": True, "name": "n", "status": "A"}]}},
        "has no `id`",
    ),
    (
        {"malformed": True, "body": {"results": [{"id": 1, "name": "n", "status": ["A"]}]}},
        "connection 1 (`n`) has no `status` string",
    ),
    ({"malformed": True, "body": {"results": [{"id": 1, "name": "n"}]}}, "no `status` string"),
    (
        {"malformed": True, "body": {"results": [{"id": 1, "name": "two\nlines", "status": 1}]}},
        "connection 1 (`two lines`) has no `status` string",
    ),
]


@pytest.mark.parametrize(("fault", "says"), CONNECTIONS)
async def test_a_malformed_connection_list_is_one_line(
    node: NodeEmulator, exalate: ExalateNode, fault: dict[str, Any], says: str
) -> None:
    node.fail_next("connections", **fault)
    with pytest.raises(BackendError) as error:
        await exalate.statuses([ConnectionRef("1", "n")])
    assert says in str(error.value)
    assert str(error.value).startswith("The Exalate node at 127.0.0.1:")
    assert "\n" not in str(error.value) and node.password not in str(error.value)
    assert error.value.__cause__ is None and error.value.__suppress_context__


async def test_a_status_that_is_not_a_string(node: NodeEmulator, exalate: ExalateNode) -> None:
    node.add_connection("n", status="ACTIVE")
    node.set_status("n", 3)
    with pytest.raises(BackendError, match=r"connection 1 \(`n`\) has no `status` string"):
        await exalate.connections()


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"results": {"name": "x"}}, "has no list of `results`"),
        ({"results": [{"key": "SUP"}]}, "project 1 has no `name` string"),
        ({"results": [{"name": 7}]}, "project 1 has no `name` string"),
        ({"results": [{"name": "Sup", "key": ["SUP"]}]}, "a `key` that is not text"),
        ({"results": [3]}, "project 1 is not an object"),
    ],
)
async def test_a_malformed_project_search_is_one_line(
    node: NodeEmulator, exalate: ExalateNode, body: Any, says: str
) -> None:
    node.fail_next("scopeparams/search", malformed=True, body=body)
    with pytest.raises(BackendError, match="answered the project search in an unexpected shape"):
        try:
            await exalate.search_projects("")
        except BackendError as error:
            assert says in str(error) and "\n" not in str(error)
            raise
