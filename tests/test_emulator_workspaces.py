"""The Slack emulator as several workspaces at once: routing by token, OAuth v2 installs and
uninstalls, Slack Connect, faults and pace per workspace, and payloads built for another
workspace's people. Over real HTTP, with slack_sdk's AsyncWebClient."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import aiohttp
import pytest
from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.errors import SlackApiError
from slack_sdk.oauth.installation_store import FileInstallationStore
from slack_sdk.oauth.state_store import FileOAuthStateStore
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from bot.devtools.slack_requests import (
    SlackSender,
    app_uninstalled_payload,
    tokens_revoked_payload,
)
from tests.slack_emulator import SlackEmulator

SECRET = "test-signing-secret"
REDIRECT = "https://bot.example.com/slack/oauth_redirect"


@pytest.fixture
async def slack() -> AsyncIterator[SlackEmulator]:
    async with SlackEmulator() as slack:
        slack.add_user("UALICE", name="alice", email="alice@example.com")
        slack.add_user("USAMA", name="sam", email="sam@both.example")
        globex = slack.add_workspace(
            team_id="T0002", name="Globex", domain="globex", installed=True
        )
        globex.add_user("UGINA", name="gina", email="gina@globex.example")
        globex.add_user("USAMG", name="sam", email="sam@both.example")
        globex.add_user("UHANK", name="hank", email="hank@globex.example")
        slack.add_workspace(team_id="T0003", name="Initech", domain="initech")
        slack.workspace("T0003").add_user("UIRIS", name="iris")
        yield slack
        assert slack.problems == [], slack.problems


def client(slack: SlackEmulator, team_id: str | None = None) -> AsyncWebClient:
    token = slack.workspace(team_id).bot_token if team_id else slack.bot_token
    return AsyncWebClient(token=token, base_url=slack.base_url)


async def refused(call: Any) -> dict[str, Any]:
    with pytest.raises(SlackApiError) as e:
        await call
    return dict(e.value.response.data)


# -- routing by token --------------------------------------------------------------------------


async def test_each_token_sees_only_its_own_workspace(slack: SlackEmulator) -> None:
    primary, globex = client(slack), client(slack, "T0002")
    assert slack.workspaces.keys() == {"T0001", "T0002", "T0003"}
    assert slack.workspaces["T0001"] is slack.primary
    assert slack.bot_token == "xoxb-test-token"
    assert slack.workspace("T0002").bot_token.startswith("xoxb-T0002-")

    me = await globex.auth_test()
    assert (me["team_id"], me["team"], me["url"]) == (
        "T0002",
        "Globex",
        "https://globex.slack.com/",
    )
    assert (me["user_id"], me["bot_id"]) == ("UBOT0002", "B0002")
    assert (await primary.auth_test())["url"] == "https://exalate-test.slack.com/"

    assert (await primary.users_lookupByEmail(email="sam@both.example"))["user"]["id"] == "USAMA"
    assert (await globex.users_lookupByEmail(email="sam@both.example"))["user"]["id"] == "USAMG"
    missing = await refused(primary.users_lookupByEmail(email="gina@globex.example"))
    assert missing["error"] == "users_not_found"
    assert (await refused(globex.users_info(user="UALICE")))["error"] == "user_not_found"

    await globex.chat_postMessage(channel="C0002GENERAL", text="hello Globex")
    await primary.chat_postMessage(channel="C0GENERAL", text="hello Exalate")
    assert [m["text"] for m in slack.workspace("T0002").messages] == ["hello Globex"]
    assert [m["text"] for m in slack.messages] == ["hello Exalate"]
    wrong_place = await refused(primary.chat_postMessage(channel="C0002GENERAL", text="x"))
    assert wrong_place["error"] == "channel_not_found"

    assert [c.method for c in slack.calls_in("T0002")] == [
        "auth.test",
        "users.lookupByEmail",
        "users.info",
        "chat.postMessage",
    ]
    assert [c.team_id for c in slack.calls_to("chat.postMessage")] == ["T0002", "T0001", "T0001"]
    assert len(slack.calls_in("T0001", "users.lookupByEmail")) == 2
    assert len(slack.calls) == 9  # every workspace's calls, in one record
    assert slack.calls[0].response["team"] == "Globex"


async def test_ids_do_not_collide_across_workspaces(slack: SlackEmulator) -> None:
    opened = await client(slack).conversations_open(users="UALICE")
    other = await client(slack, "T0002").conversations_open(users="UGINA")
    assert opened["channel"]["id"] != other["channel"]["id"]
    assert slack.workspace("T0002").dm_user(other["channel"]["id"]) == "UGINA"
    assert slack.dm_user(other["channel"]["id"]) is None


async def test_unknown_tokens_and_a_workspace_not_installed(slack: SlackEmulator) -> None:
    initech = slack.workspace("T0003")
    assert (initech.bot_token, initech.installed) == (None, False)
    bad = AsyncWebClient(token="xoxb-T0003-guessed", base_url=slack.base_url)
    assert (await refused(bad.auth_test()))["error"] == "invalid_auth"
    app = AsyncWebClient(token=slack.app_token, base_url=slack.base_url)
    assert (await refused(app.auth_test()))["error"] == "not_allowed_token_type"
    assert [c.team_id for c in slack.calls] == [None, None]


# -- OAuth v2 ----------------------------------------------------------------------------------


async def authorize(slack: SlackEmulator, **query: str) -> tuple[int, str]:
    """Visit the authorize page; (status, Location or the page's text)."""
    defaults = {"client_id": "1234.5678", "scope": "commands,chat:write", "state": "st-1"}
    url = f"{slack.authorize_url}?{urlencode(defaults | query)}"
    async with (
        aiohttp.ClientSession() as session,
        session.get(url, allow_redirects=False) as resp,
    ):
        return resp.status, resp.headers.get("Location") or await resp.text()


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


async def grant_code(slack: SlackEmulator, team: str = "T0003", user: str = "UIRIS") -> str:
    status, location = await authorize(slack, team=team, user=user, redirect_uri=REDIRECT)
    assert status == 302, location
    return query_of(location)["code"]


async def test_install_through_oauth(slack: SlackEmulator) -> None:
    status, location = await authorize(
        slack, team="T0003", user="UIRIS", redirect_uri=REDIRECT, user_scope="identity.basic"
    )
    assert status == 302
    assert location.startswith(REDIRECT + "?")
    sent = query_of(location)
    assert sent["state"] == "st-1"
    asked = slack.authorizations[-1]
    assert (asked.scopes, asked.user_scopes) == (["commands", "chat:write"], ["identity.basic"])
    assert (asked.team_id, asked.user_id, asked.code) == ("T0003", "UIRIS", sent["code"])

    anonymous = AsyncWebClient(base_url=slack.base_url)
    answer = await anonymous.oauth_v2_access(
        client_id="1234.5678",
        client_secret="emulated-secret",
        code=sent["code"],
        redirect_uri=REDIRECT,
    )
    token = answer["access_token"]
    assert token.startswith("xoxb-T0003-")
    assert answer.data == {
        "ok": True,
        "access_token": token,
        "token_type": "bot",
        "scope": "commands,chat:write",
        "bot_user_id": "UBOT0003",
        "app_id": "A0001",
        "team": {"id": "T0003", "name": "Initech"},
        "enterprise": None,
        "is_enterprise_install": False,
        "authed_user": {"id": "UIRIS"},
    }
    exchanged = slack.calls_to("oauth.v2.access")[0]
    assert exchanged.basic_auth == ("1234.5678", "emulated-secret")  # slack_sdk's way
    assert exchanged.team_id == "T0003"

    initech = slack.workspace("T0003")
    assert (initech.installed, initech.bot_token, initech.scopes) == (
        True,
        token,
        ["commands", "chat:write"],
    )
    me = await AsyncWebClient(token=token, base_url=slack.base_url).auth_test()
    assert (me["team_id"], me["user_id"], me["bot_id"]) == ("T0003", "UBOT0003", "B0003")

    again = anonymous.oauth_v2_access(
        client_id="1234.5678",
        client_secret="emulated-secret",
        code=sent["code"],
        redirect_uri=REDIRECT,
    )
    assert (await refused(again))["error"] == "invalid_code"


async def test_bolts_own_oauth_flow_installs_the_app(slack: SlackEmulator, tmp_path: Path) -> None:
    """/slack/install -> the authorize page -> /slack/oauth_redirect, with Bolt's AsyncOAuthFlow:
    it exchanges the code, asks auth.test with the new token and stores the installation."""
    store = FileInstallationStore(base_dir=str(tmp_path))
    app = AsyncApp(
        signing_secret=SECRET,
        client=AsyncWebClient(base_url=slack.base_url),
        oauth_settings=AsyncOAuthSettings(
            client_id="1234.5678",
            client_secret="emulated-secret",
            scopes=["commands", "chat:write"],
            authorization_url=slack.authorize_url,
            install_page_rendering_enabled=False,
            installation_store=store,
            state_store=FileOAuthStateStore(expiration_seconds=60, base_dir=str(tmp_path)),
        ),
    )
    runner = web.AppRunner(app.web_app())
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    bot_url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    slack.oauth_app(
        client_id="1234.5678",
        client_secret="emulated-secret",
        redirect_uri=f"{bot_url}/slack/oauth_redirect",  # as in the app's settings
    )
    try:
        async with aiohttp.ClientSession() as browser:
            install = await browser.get(f"{bot_url}/slack/install", allow_redirects=False)
            # Bolt's state cookie is Secure: a browser would not send it over http, so by hand
            cookie = install.headers["Set-Cookie"].split(";")[0]
            where = f"{install.headers['Location']}&team=T0003&user=UIRIS"
            allowed = await browser.get(where, allow_redirects=False)
            assert allowed.status == 302
            done = await browser.get(
                allowed.headers["Location"], headers={"Cookie": cookie}, allow_redirects=False
            )
            assert done.status == 200, await done.text()
    finally:
        await runner.cleanup()
    installation = await store.async_find_installation(enterprise_id=None, team_id="T0003")
    assert installation is not None
    assert installation.bot_token == slack.workspace("T0003").bot_token
    assert (installation.bot_id, installation.bot_user_id, installation.user_id) == (
        "B0003",
        "UBOT0003",
        "UIRIS",
    )
    assert [(c.method, c.team_id) for c in slack.calls] == [
        ("oauth.v2.access", "T0003"),
        ("auth.test", "T0003"),
    ]


async def test_the_code_exchange_refuses_what_slack_refuses(slack: SlackEmulator) -> None:
    code = await grant_code(slack)
    anonymous = AsyncWebClient(base_url=slack.base_url)

    def exchange(**given: str) -> Any:
        args = {"client_id": "1234.5678", "client_secret": "emulated-secret"}
        return anonymous.oauth_v2_access(
            **(args | {"code": code, "redirect_uri": REDIRECT} | given)
        )

    assert (await refused(exchange(client_secret="guessed")))["error"] == "bad_client_secret"
    assert (await refused(exchange(client_id="9.9")))["error"] == "invalid_client_id"
    bad_redirect = exchange(redirect_uri="https://evil.example/cb")
    assert (await refused(bad_redirect))["error"] == "bad_redirect_uri"
    assert (await refused(exchange(redirect_uri="")))["error"] == "bad_redirect_uri"
    assert (await refused(exchange(code="T0003.made-up")))["error"] == "invalid_code"
    assert not slack.workspace("T0003").installed
    assert {c.team_id for c in slack.calls_to("oauth.v2.access")} == {None}

    # the credentials as form arguments work too; the refusals above did not use the code up
    form = {"client_id": "1234.5678", "client_secret": "emulated-secret", "code": code}
    answer = await anonymous.api_call("oauth.v2.access", data=form | {"redirect_uri": REDIRECT})
    assert answer["team"]["id"] == "T0003"


async def test_the_authorize_page_refuses_and_denies(slack: SlackEmulator) -> None:
    status, location = await authorize(
        slack, team="T0003", user="UIRIS", redirect_uri=REDIRECT, deny="1"
    )
    assert status == 302
    assert query_of(location) == {"error": "access_denied", "state": "st-1"}
    assert slack.authorizations[-1].denied and slack.authorizations[-1].code is None

    for query in [
        {"client_id": "9.9", "team": "T0003", "user": "UIRIS", "redirect_uri": REDIRECT},
        {"team": "T0003", "user": "UALICE", "redirect_uri": REDIRECT},  # not a member there
        {"team": "T0404", "user": "UIRIS", "redirect_uri": REDIRECT},
        {"team": "T0003", "user": "UIRIS"},  # no redirect_uri, none configured
        {"team": "T0003", "user": "UIRIS", "redirect_uri": REDIRECT, "scope": ""},
    ]:
        status, page = await authorize(slack, **query)
        assert status == 400, query
        assert slack.authorizations[-1].error == page
    assert not slack.workspace("T0003").installed

    slack.oauth_app(client_id="42.42", client_secret="s3", redirect_uri=REDIRECT)
    status, location = await authorize(slack, client_id="42.42", team="T0003", user="UIRIS")
    assert status == 302 and location.startswith(REDIRECT)  # the configured redirect URL


async def test_reinstall_keeps_the_token_and_uninstall_revokes_it(slack: SlackEmulator) -> None:
    anonymous = AsyncWebClient(base_url=slack.base_url)
    secret = {
        "client_id": "1234.5678",
        "client_secret": "emulated-secret",
        "redirect_uri": REDIRECT,
    }
    first = await anonymous.oauth_v2_access(code=await grant_code(slack), **secret)
    second = await anonymous.oauth_v2_access(code=await grant_code(slack), **secret)
    assert first["access_token"] == second["access_token"]

    slack.uninstall("T0003")
    old = AsyncWebClient(token=first["access_token"], base_url=slack.base_url)
    assert (await refused(old.auth_test()))["error"] == "token_revoked"
    assert not slack.workspace("T0003").installed
    assert slack.calls[-1].team_id is None

    third = await anonymous.oauth_v2_access(code=await grant_code(slack), **secret)
    assert third["access_token"] not in (first["access_token"], None)
    me = await AsyncWebClient(token=third["access_token"], base_url=slack.base_url).auth_test()
    assert me["team_id"] == "T0003"


# -- Slack Connect -----------------------------------------------------------------------------


async def test_slack_connect_members_are_visible_but_not_by_email(slack: SlackEmulator) -> None:
    primary = client(slack)
    slack.add_channel("CSHARED", name="acme-globex")
    assert (await refused(primary.users_info(user="UGINA")))["error"] == "user_not_found"

    slack.share_channel("CSHARED", with_team="T0002")
    gina = (await primary.users_info(user="UGINA"))["user"]
    assert (gina["id"], gina["team_id"], gina["name"]) == ("UGINA", "T0002", "gina")
    missing = await refused(primary.users_lookupByEmail(email="gina@globex.example"))
    assert missing["error"] == "users_not_found"
    shared = (await client(slack, "T0002").conversations_info(channel="CSHARED"))["channel"]
    assert shared["is_ext_shared"] is True
    alice = (await client(slack, "T0002").users_info(user="UALICE"))["user"]
    assert alice["team_id"] == "T0001"  # both ways

    opened = await primary.conversations_open(users="UGINA")
    await primary.chat_postMessage(channel="UGINA", text="hi Gina")
    assert slack.messages[-1]["channel"] == opened["channel"]["id"]

    slack.refuse_dm("UHANK")
    slack.refuse_dm("USAMG", error="invalid_user_combination")
    assert (await refused(primary.conversations_open(users="UHANK")))["error"] == "user_not_visible"
    hank_dm = primary.chat_postMessage(channel="UHANK", text="hi Hank")
    assert (await refused(hank_dm))["error"] == "user_not_visible"
    sam = await refused(primary.conversations_open(users="USAMG"))
    assert sam["error"] == "invalid_user_combination"
    assert (await client(slack, "T0002").conversations_open(users="UHANK"))["ok"]  # his own


# -- faults and pace ---------------------------------------------------------------------------


async def test_a_fault_for_one_workspace_only(slack: SlackEmulator) -> None:
    slack.fail_next("chat.postMessage", error="fatal_error", team_id="T0002")
    await client(slack).chat_postMessage(channel="C0GENERAL", text="fine")
    globex = client(slack, "T0002")
    failed = await refused(globex.chat_postMessage(channel="C0002GENERAL", text="fails"))
    assert failed["error"] == "fatal_error"
    await globex.chat_postMessage(channel="C0002GENERAL", text="fine again")
    assert [(c.team_id, c.failed) for c in slack.calls_to("chat.postMessage")] == [
        ("T0001", False),
        ("T0002", True),
        ("T0002", False),
    ]

    slack.fail_next("auth.test", error="internal_error")  # any workspace: the next call
    assert (await refused(globex.auth_test()))["error"] == "internal_error"
    assert (await client(slack).auth_test())["ok"]


async def test_each_workspace_has_its_own_pace(slack: SlackEmulator) -> None:
    slack.enforce_pace(per_channel_seconds=60, per_minute=1)
    primary, globex = client(slack), client(slack, "T0002")
    await primary.chat_postMessage(channel="C0GENERAL", text="one")
    limited = await refused(primary.chat_postMessage(channel="UALICE", text="two"))
    assert limited["error"] == "ratelimited"
    await globex.chat_postMessage(channel="C0002GENERAL", text="Globex's own budget")
    assert [c.status for c in slack.calls_to("chat.postMessage")] == [200, 429, 200]


# -- payloads built for another workspace -----------------------------------------------------


@pytest.fixture
async def bot() -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    """A stand-in for the bot: keeps each signed request Slack sends it, answers 200."""
    received: list[dict[str, Any]] = []
    verifier = SignatureVerifier(SECRET)

    async def events(request: web.Request) -> web.Response:
        body = await request.text()
        assert verifier.is_valid_request(body, dict(request.headers))
        if request.content_type == "application/json":
            received.append(json.loads(body))
        else:
            form = {k: v[0] for k, v in parse_qs(body).items()}
            received.append(json.loads(form["payload"]) if "payload" in form else form)
        return web.Response(text="")

    app = web.Application()
    app.router.add_post("/slack/events", events)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}/slack/events", received
    await runner.cleanup()


async def test_a_globex_user_acts_in_globex(
    slack: SlackEmulator, bot: tuple[str, list[dict[str, Any]]]
) -> None:
    url, received = bot
    sender = SlackSender(bot_url=url, signing_secret=SECRET, emulator=slack)
    try:
        await sender.command("connect", user_id="UGINA")
        command = received[-1]
        assert (command["team_id"], command["team_domain"]) == ("T0002", "globex")
        assert (command["channel_id"], command["api_app_id"]) == ("C0002GENERAL", "A0001")
        refused_trigger = client(slack).views_open(
            trigger_id=command["trigger_id"], view=MODAL
        )  # a Globex trigger_id means nothing in the primary workspace
        assert (await refused(refused_trigger))["error"] == "invalid_trigger_id"
        view = await client(slack, "T0002").views_open(trigger_id=command["trigger_id"], view=MODAL)
        assert view["view"]["team_id"] == "T0002"

        await sender.click(action_id="go", user_id="UGINA", view_id=view["view"]["id"])
        action = received[-1]
        assert (action["team"], action["user"]["team_id"]) == (
            {"id": "T0002", "domain": "globex"},
            "T0002",
        )
        await sender.submit_view(view["view"]["id"], {}, user_id="UGINA")
        assert received[-1]["team"]["id"] == "T0002"
        assert view["view"]["id"] not in slack.workspace("T0002").views  # closed by the answer

        await sender.command("help", user_id="UALICE")
        assert (received[-1]["team_id"], received[-1]["team_domain"]) == ("T0001", "exalate-test")
        await sender.event({"type": "app_home_opened", "user": "UGINA"}, team_id="T0002")
        assert received[-1]["authorizations"][0]["user_id"] == "UBOT0002"
    finally:
        await sender.close()


MODAL = {
    "type": "modal",
    "title": {"type": "plain_text", "text": "Connect"},
    "submit": {"type": "plain_text", "text": "Next"},
    "blocks": [
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": "Go"},
                    "action_id": "go",
                }
            ],
        }
    ],
}


async def test_uninstall_tells_the_bot(
    slack: SlackEmulator, bot: tuple[str, list[dict[str, Any]]]
) -> None:
    url, received = bot
    token = slack.workspace("T0002").bot_token
    sender = SlackSender(bot_url=url, signing_secret=SECRET, emulator=slack)
    try:
        answers = await sender.uninstall("T0002")
    finally:
        await sender.close()
    assert [a.status for a in answers] == [200, 200]
    assert [(p["type"], p["team_id"], p["event"]["type"]) for p in received] == [
        ("event_callback", "T0002", "tokens_revoked"),
        ("event_callback", "T0002", "app_uninstalled"),
    ]
    assert received[0]["event"]["tokens"] == {"oauth": [], "bot": ["UBOT0002"]}
    old = AsyncWebClient(token=token, base_url=slack.base_url)
    assert (await refused(old.auth_test()))["error"] == "token_revoked"


def test_uninstall_events_have_slacks_shape(slack_specs: Path) -> None:
    """Against the java-slack-sdk samples of the two events (every key Slack was seen to send)."""
    samples = slack_specs / "java-slack-sdk-json-logs" / "events"
    if not samples.is_dir():
        pytest.skip(f"no java-slack-sdk event samples at {samples}")
    built = {
        "AppUninstalledPayload.json": app_uninstalled_payload(team_id="T0002"),
        "TokensRevokedPayload.json": tokens_revoked_payload(team_id="T0002", bot_user_ids=["UB"]),
    }
    optional = {"enterprise_id", "authed_users", "authed_teams"}  # legacy or Enterprise Grid
    for name, payload in built.items():
        sample = json.loads((samples / name).read_text())
        assert set(payload) == set(sample) - optional, name
        assert set(payload["event"]) == set(sample["event"]), name
        assert set(payload["authorizations"][0]) == set(sample["authorizations"][0]), name
    assert built["TokensRevokedPayload.json"]["event"]["tokens"] == {"oauth": [], "bot": ["UB"]}


async def test_the_oauth_answer_has_the_documented_fields(
    slack: SlackEmulator, slack_specs: Path
) -> None:
    """The OpenAPI spec's example answer of oauth.v2.access: every field of it is in ours."""
    paths = json.loads((slack_specs / "slack_web_openapi_v2.json").read_text())["paths"]
    example = paths["/oauth.v2.access"]["get"]["responses"]["200"]["examples"]["application/json"]
    answer = await AsyncWebClient(base_url=slack.base_url).oauth_v2_access(
        client_id="1234.5678",
        client_secret="emulated-secret",
        code=await grant_code(slack),
        redirect_uri=REDIRECT,
    )
    assert set(example) <= set(answer.data)
    for part in ("team", "enterprise"):
        assert answer[part] is None or set(answer[part]) == set(example[part]), part
    assert "id" in answer["authed_user"]
    assert answer["token_type"] == example["token_type"]
