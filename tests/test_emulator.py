"""The Slack emulator and the request sender, exercised with slack_sdk and slack_bolt themselves."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.devtools.slack_requests import SlackSender, command_payload, sign
from tests.harness import eventually
from tests.slack_emulator import SlackEmulator

SECRET = "test-signing-secret"


def plain(text: str) -> dict[str, str]:
    return {"type": "plain_text", "text": text}


def option(text: str, value: str) -> dict[str, Any]:
    return {"text": plain(text), "value": value}


def button(text: str, action_id: str, value: str) -> dict[str, Any]:
    return {"type": "button", "text": plain(text), "action_id": action_id, "value": value}


def input_block(block_id: str, element: dict[str, Any], **extra: Any) -> dict[str, Any]:
    element = {"action_id": f"{block_id}_input", **element}
    return {
        "type": "input",
        "block_id": block_id,
        "label": plain(block_id),
        "element": element,
    } | extra


WIZARD: dict[str, Any] = {
    "type": "modal",
    "callback_id": "wizard",
    "notify_on_close": True,
    "private_metadata": "draft-1",
    "title": plain("Connect"),
    "submit": plain("Next"),
    "blocks": [
        input_block(
            "name", {"type": "plain_text_input", "initial_value": "draft", "max_length": 9}
        ),
        input_block("mode", {"type": "radio_buttons", "options": [option("Script", "script")]}),
        input_block("partner", {"type": "users_select"}),
        input_block("project", {"type": "external_select", "min_query_length": 0}, optional=True),
        input_block(
            "notices",
            {"type": "checkboxes", "options": [option("DM", "dm"), option("Channel", "channel")]},
            optional=True,
        ),
        {"type": "actions", "block_id": "nav", "elements": [button("Back", "back", "step-1")]},
    ],
}


def simple_modal(title: str) -> dict[str, Any]:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": title}}]
    return {"type": "modal", "title": plain(title), "blocks": blocks}


@pytest.fixture
async def emulator() -> AsyncIterator[SlackEmulator]:
    async with SlackEmulator() as emulator:
        emulator.add_user("UALICE", name="alice", email="alice@example.com", is_admin=True)
        emulator.add_user("UBOB", name="bob", email="bob@example.com", tz="America/New_York")
        emulator.add_user("UGONE", name="gone", deleted=True)
        emulator.add_channel("CSECRET", name="secret", is_private=True, is_member=False)
        yield emulator


@pytest.fixture
def client(emulator: SlackEmulator) -> AsyncWebClient:
    return AsyncWebClient(token=emulator.bot_token, base_url=emulator.base_url)


async def open_modal(emulator: SlackEmulator, client: AsyncWebClient) -> dict[str, Any]:
    response = await client.views_open(trigger_id=emulator.issue_trigger_id(), view=WIZARD)
    return response["view"]


# -- Web API -----------------------------------------------------------------------------------


async def test_auth(emulator: SlackEmulator, client: AsyncWebClient) -> None:
    response = await client.auth_test()
    assert (response["user_id"], response["team_id"]) == ("UBOT", "T0001")
    for token, error in [("xoxb-wrong", "invalid_auth"), (None, "not_authed")]:
        with pytest.raises(SlackApiError) as e:
            await AsyncWebClient(token=token, base_url=emulator.base_url).auth_test()
        assert e.value.response["error"] == error
    assert emulator.problems == ["auth.test: missing token"]


async def test_views_open_update_and_hash_conflict(
    emulator: SlackEmulator, client: AsyncWebClient
) -> None:
    view = await open_modal(emulator, client)
    assert view["id"].startswith("V")
    assert view["state"] == {"values": {}}
    assert emulator.views[view["id"]]["callback_id"] == "wizard"

    updated = await client.views_update(
        view_id=view["id"], hash=view["hash"], view=simple_modal("Step 2")
    )
    assert updated["view"]["id"] == view["id"]
    assert updated["view"]["hash"] != view["hash"]
    assert emulator.views[view["id"]]["title"] == plain("Step 2")

    with pytest.raises(SlackApiError) as stale:
        await client.views_update(view_id=view["id"], hash=view["hash"], view=simple_modal("x"))
    assert stale.value.response["error"] == "hash_conflict"
    with pytest.raises(SlackApiError) as missing:
        await client.views_update(view_id="VNOPE", view=simple_modal("x"))
    assert missing.value.response["error"] == "not_found"
    assert emulator.problems == []


async def test_home_tab_publish(emulator: SlackEmulator, client: AsyncWebClient) -> None:
    home = {"type": "home", "blocks": simple_modal("Home")["blocks"]}
    first = (await client.views_publish(user_id="UALICE", view=home))["view"]
    again = (await client.views_publish(user_id="UALICE", view=home, hash=first["hash"]))["view"]
    assert again["id"] == first["id"]
    assert emulator.home_views["UALICE"] is emulator.views[first["id"]]
    for view, error in [(home, "hash_conflict"), (simple_modal("Modal"), "invalid_arguments")]:
        with pytest.raises(SlackApiError) as e:
            await client.views_publish(user_id="UALICE", view=view, hash=first["hash"])
        assert e.value.response["error"] == error
    assert emulator.problems == ["views.publish: view type must be 'home', got 'modal'"]


async def test_trigger_ids_are_single_use(emulator: SlackEmulator, client: AsyncWebClient) -> None:
    trigger_id = emulator.issue_trigger_id()
    await client.views_open(trigger_id=trigger_id, view=simple_modal("One"))
    for trigger, error in [
        (trigger_id, "exchanged_trigger_id"),
        ("123.456.abc", "invalid_trigger_id"),
    ]:
        with pytest.raises(SlackApiError) as e:
            await client.views_open(trigger_id=trigger, view=simple_modal("Two"))
        assert e.value.response["error"] == error


async def test_invalid_view_is_rejected_and_recorded(
    emulator: SlackEmulator, client: AsyncWebClient
) -> None:
    view = simple_modal("A title that is far too long for Slack")
    with pytest.raises(SlackApiError) as e:
        await client.views_open(trigger_id=emulator.issue_trigger_id(), view=view)
    assert e.value.response["error"] == "invalid_arguments"
    assert emulator.problems == [
        "views.open: view: SlackObjectFormationError: title must be between 1 and 24 characters"
    ]


async def test_rate_limit_raises_then_retry_handler_succeeds(
    emulator: SlackEmulator, client: AsyncWebClient
) -> None:
    emulator.fail_next("chat.postMessage", status=429, retry_after=1)
    with pytest.raises(SlackApiError) as e:
        await client.chat_postMessage(channel="C0GENERAL", text="hi")
    assert e.value.response.status_code == 429
    assert e.value.response.headers["Retry-After"] == "1"
    assert e.value.response["error"] == "ratelimited"
    assert emulator.messages == []

    client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=1))
    emulator.fail_next("chat.postMessage", status=429, retry_after=0)  # retries within 1 s
    response = await client.chat_postMessage(channel="C0GENERAL", text="hi")
    assert response["ok"]
    assert [c.failed for c in emulator.calls_to("chat.postMessage")] == [True, True, False]
    assert [m["text"] for m in emulator.messages] == ["hi"]


async def test_server_errors_ok_false_and_delays(
    emulator: SlackEmulator, client: AsyncWebClient
) -> None:
    emulator.fail_next("users.info", status=503)
    emulator.fail_next("users.info", error="fatal_error", times=2)
    with pytest.raises(SlackApiError) as e:
        await client.users_info(user="UALICE")
    assert e.value.response.status_code == 503
    for _ in range(2):
        with pytest.raises(SlackApiError) as e:
            await client.users_info(user="UALICE")
        assert (e.value.response.status_code, e.value.response["error"]) == (200, "fatal_error")
    assert (await client.users_info(user="UALICE"))["user"]["name"] == "alice"

    emulator.fail_next("auth.test", delay=0.3)
    impatient = AsyncWebClient(token=emulator.bot_token, base_url=emulator.base_url, timeout=0.05)
    with pytest.raises(asyncio.TimeoutError):
        await impatient.auth_test()
    assert len(emulator.calls_to("auth.test")) == 1


async def test_wait_for_call_returns_answered_calls_past_and_future(
    emulator: SlackEmulator, client: AsyncWebClient
) -> None:
    await client.users_info(user="UALICE")
    past = await emulator.wait_for_call("users.info", lambda c: c.params["user"] == "UALICE")
    assert past.response["user"]["name"] == "alice"

    emulator.fail_next("users.info", status=503)
    later = asyncio.create_task(emulator.wait_for_call("users.info", lambda c: c.failed))
    await asyncio.sleep(0)
    assert not later.done()
    with pytest.raises(SlackApiError):
        await client.users_info(user="UALICE")
    call = await asyncio.wait_for(later, 1)
    assert (call.status, call.response["error"]) == (503, "internal_error")

    with pytest.raises(TimeoutError):
        await emulator.wait_for_call("views.open", timeout=0.05)
    assert emulator._waiters == []


async def test_post_message_checks(emulator: SlackEmulator, client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as e:
        await client.api_call("chat.postMessage", json={"text": "no channel"})
    assert e.value.response["error"] == "channel_not_found"

    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Hi*"}}]
    with pytest.warns(UserWarning, match="`text` argument is missing"):
        await client.chat_postMessage(channel="C0GENERAL", blocks=blocks)  # accepted, but...
    with pytest.raises(SlackApiError) as e:
        await client.chat_postMessage(channel="C0GENERAL", text="t", blocks=[{"type": "nope"}])
    assert e.value.response["error"] == "invalid_blocks"
    assert emulator.problems == [
        "chat.postMessage: missing required argument 'channel'",
        "chat.postMessage: `blocks` without a non-empty `text` fallback",
        "chat.postMessage: block[0] ('nope', block_id=None): unknown block type",
    ]


async def test_form_encoded_blocks_are_decoded(
    emulator: SlackEmulator, client: AsyncWebClient
) -> None:
    blocks = [{"type": "section", "block_id": "b1", "text": {"type": "mrkdwn", "text": "x"}}]
    data = {"channel": "C0GENERAL", "text": "x", "blocks": json.dumps(blocks)}
    await client.api_call("chat.postMessage", data=data)
    call = emulator.calls_to("chat.postMessage")[0]
    assert (call.http_method, call.params["blocks"], call.token) == (
        "POST",
        blocks,
        "xoxb-test-token",
    )
    assert emulator.messages[0]["blocks"] == blocks


async def test_channels_ims_and_messages(emulator: SlackEmulator, client: AsyncWebClient) -> None:
    first = await client.conversations_open(users="UALICE")
    again = await client.conversations_open(users="UALICE")
    dm = first["channel"]["id"]
    assert dm.startswith("D")
    assert again["channel"]["id"] == dm
    assert again["already_open"]

    for call, error in [
        (client.conversations_open(users="UNOBODY"), "user_not_found"),
        (client.conversations_open(users="UGONE"), "user_disabled"),
        (client.conversations_info(channel="CSECRET"), "channel_not_found"),
        (client.chat_postMessage(channel="CSECRET", text="x"), "not_in_channel"),
        (client.chat_postMessage(channel="CNOPE", text="x"), "channel_not_found"),
        (client.chat_update(channel="C0GENERAL", ts="1.2", text="x"), "message_not_found"),
    ]:
        with pytest.raises(SlackApiError) as e:
            await call
        assert e.value.response["error"] == error

    posted = await client.chat_postMessage(channel="UALICE", text="Invitation")
    assert posted["channel"] == dm
    thread = await client.chat_postMessage(channel=dm, text="reply", thread_ts=posted["ts"])
    assert thread["ts"] > posted["ts"]
    await client.chat_update(channel=dm, ts=posted["ts"], text="Accepted")
    assert [(m["channel"], m["text"]) for m in emulator.messages] == [
        (dm, "Accepted"),
        (dm, "reply"),
    ]
    assert emulator.messages[1]["thread_ts"] == posted["ts"]
    await client.chat_delete(channel=dm, ts=thread["ts"])
    with pytest.raises(SlackApiError) as e:
        await client.chat_update(channel=dm, ts=thread["ts"], text="x")
    assert e.value.response["error"] == "message_not_found"
    ephemeral = await client.chat_postEphemeral(channel="C0GENERAL", user="UBOB", text="psst")
    assert emulator.ephemerals[0]["ts"] == ephemeral["message_ts"]
    assert emulator.problems == []


async def test_users_and_usergroups(emulator: SlackEmulator, client: AsyncWebClient) -> None:
    bob = (await client.users_lookupByEmail(email="BOB@example.com"))["user"]
    assert bob["id"] == "UBOB"
    assert bob["tz"] == "America/New_York"
    assert bob["tz_offset"] in (-5 * 3600, -4 * 3600)
    assert bob["profile"]["email"] == "bob@example.com"
    bot = (await client.users_info(user="UBOT"))["user"]
    assert bot["is_bot"]
    with pytest.raises(SlackApiError) as e:
        await client.users_lookupByEmail(email="nobody@example.com")
    assert e.value.response["error"] == "users_not_found"

    emulator.add_usergroup("S0ADMINS", ["UALICE", "UBOB"])
    assert (await client.usergroups_users_list(usergroup="S0ADMINS"))["users"] == ["UALICE", "UBOB"]
    with pytest.raises(SlackApiError) as e:
        await client.usergroups_users_list(usergroup="SNOPE")
    assert e.value.response["error"] == "no_such_subteam"


async def test_unknown_methods_response_urls_and_reset(
    emulator: SlackEmulator, client: AsyncWebClient
) -> None:
    with pytest.raises(SlackApiError) as e:
        await client.api_call("chat.postMesage", json={"channel": "C0GENERAL"})
    assert e.value.response["error"] == "unknown_method"
    with pytest.raises(SlackApiError):
        await client.conversations_members(channel="C0GENERAL")
    assert emulator.problems == [
        "chat.postMesage: unknown method 'chat.postMesage'",
        "conversations.members: not emulated (add it to bot/devtools/emulator_methods.py)",
    ]

    await AsyncWebhookClient(emulator.response_url()).send(text="Done", replace_original=True)
    assert emulator.responses == [{"text": "Done", "replace_original": True}]

    emulator.reset()
    assert (emulator.calls, emulator.problems, emulator.responses) == ([], [], [])
    assert "UALICE" in emulator.users


# -- Socket Mode -------------------------------------------------------------------------------


async def test_socket_mode_client_receives_and_acks(emulator: SlackEmulator) -> None:
    web_client = AsyncWebClient(base_url=emulator.base_url)
    client = SocketModeClient(app_token=emulator.app_token, web_client=web_client)
    received: list[SocketModeRequest] = []

    async def listener(client: SocketModeClient, request: SocketModeRequest) -> None:
        received.append(request)
        ack = SocketModeResponse(request.envelope_id, payload={"text": "got it"})
        await client.send_socket_mode_response(ack)

    client.socket_mode_request_listeners.append(listener)
    await client.connect()
    try:
        await emulator.socket_connected()
        payload = {"type": "event_callback", "event": {"type": "app_home_opened"}}
        ack = await emulator.socket_send("events_api", payload)
    finally:
        await client.close()

    assert ack == {"envelope_id": received[0].envelope_id, "payload": {"text": "got it"}}
    assert (received[0].type, received[0].payload) == ("events_api", payload)
    assert received[0].accepts_response_payload
    assert emulator.calls_to("apps.connections.open")[0].token == emulator.app_token
    assert emulator.problems == []


# -- SlackSender against a Bolt app ------------------------------------------------------------


def make_app(emulator: SlackEmulator, seen: list[dict[str, Any]]) -> AsyncApp:
    app = AsyncApp(
        client=AsyncWebClient(token=emulator.bot_token, base_url=emulator.base_url),
        signing_secret=SECRET,
    )

    @app.command("/exalate")
    async def command(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        seen.append(body)
        if body["text"] == "connect":
            await ack()
            await client.views_open(trigger_id=body["trigger_id"], view=WIZARD)
        else:
            await ack(f"You said {body['text']}")

    @app.view("wizard")
    async def submit(ack: AsyncAck, body: dict[str, Any]) -> None:
        seen.append(body)
        name = body["view"]["state"]["values"]["name"]["name_input"]["value"]
        if name == "taken":
            await ack(response_action="errors", errors={"name": "That name is taken"})
        else:
            await ack(response_action="update", view=simple_modal(f"Review {name}"))

    @app.view_closed("wizard")
    @app.action("back")
    @app.event("app_home_opened")
    async def record(ack: AsyncAck, body: dict[str, Any]) -> None:
        seen.append(body)
        await ack()

    @app.options("project_input")
    async def projects(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack(options=[option(f"{body['value']}-1", "p1")])

    return app


@pytest.fixture
async def bolt(emulator: SlackEmulator) -> AsyncIterator[tuple[SlackSender, list[dict[str, Any]]]]:
    seen: list[dict[str, Any]] = []
    runner = web.AppRunner(make_app(emulator, seen).web_app())
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    sender = SlackSender(
        bot_url=f"http://127.0.0.1:{port}/slack/events", signing_secret=SECRET, emulator=emulator
    )
    yield sender, seen
    await sender.close()
    await runner.cleanup()


def test_signature_matches_slack_sdk() -> None:
    body, now = "token=x&text=hello%20world", int(time.time())
    verifier = SignatureVerifier(SECRET)
    assert sign(SECRET, now, body) == verifier.generate_signature(timestamp=str(now), body=body)
    assert verifier.is_valid(body=body, timestamp=str(now), signature=sign(SECRET, now, body))


async def test_bolt_accepts_signed_requests_and_rejects_forged_ones(
    bolt: tuple[SlackSender, list[dict[str, Any]]],
) -> None:
    sender, seen = bolt
    response = await sender.command("hello", user_id="UALICE")
    assert (response.status, response.text) == (200, "You said hello")  # Bolt answers text/plain
    assert seen[0]["user_name"] == "alice"
    assert seen[0]["response_url"].startswith("http://127.0.0.1:")

    body = "token=x&command=%2Fexalate&text=hi"
    status, _ = await sender.post(body, "application/x-www-form-urlencoded", signature="v0=bad")
    assert status == 401
    stale = int(time.time()) - 600
    response = await sender.post(body, "application/x-www-form-urlencoded", timestamp=stale)
    assert response.status == 401
    assert len(seen) == 1


async def test_modal_submission_errors_then_update(
    emulator: SlackEmulator, bolt: tuple[SlackSender, list[dict[str, Any]]]
) -> None:
    sender, seen = bolt
    await sender.command("connect", user_id="UALICE")
    [view_id] = await eventually(lambda: list(emulator.views))  # views.open runs after the ack

    answers = {"name": "taken", "mode": "script", "partner": "UBOB", "notices": ["dm"]}
    response = await sender.submit_view(view_id, answers, user_id="UALICE")
    assert response.json["response_action"] == "errors"
    assert emulator.view_errors == {view_id: {"name": "That name is taken"}}
    submitted = seen[-1]
    assert submitted["type"] == "view_submission"
    assert submitted["view"]["private_metadata"] == "draft-1"
    assert submitted["view"]["state"]["values"] == {
        "name": {"name_input": {"type": "plain_text_input", "value": "taken"}},
        "mode": {
            "mode_input": {"type": "radio_buttons", "selected_option": option("Script", "script")}
        },
        "partner": {"partner_input": {"type": "users_select", "selected_user": "UBOB"}},
        "project": {"project_input": {"type": "external_select", "selected_option": None}},
        "notices": {
            "notices_input": {"type": "checkboxes", "selected_options": [option("DM", "dm")]}
        },
    }

    old_hash = emulator.views[view_id]["hash"]
    answers.pop("name")  # keeps its initial value "draft"
    await sender.submit_view(view_id, answers | {"project": "JIRA"}, user_id="UALICE")
    assert emulator.views[view_id]["title"] == plain("Review draft")
    assert emulator.views[view_id]["hash"] != old_hash
    assert view_id not in emulator.view_errors
    project = seen[-1]["view"]["state"]["values"]["project"]["project_input"]
    assert project["selected_option"]["value"] == "JIRA"
    assert emulator.problems == []


async def test_submissions_slack_would_not_send(
    emulator: SlackEmulator, client: AsyncWebClient, bolt: tuple[SlackSender, list[dict[str, Any]]]
) -> None:
    sender, seen = bolt
    view_id = (await open_modal(emulator, client))["id"]
    ok = {"mode": "script", "partner": "UBOB"}
    with pytest.raises(ValueError, match="not an option"):
        await sender.submit_view(view_id, ok | {"mode": "visual"}, user_id="UALICE")
    with pytest.raises(LookupError, match="not input blocks"):
        await sender.submit_view(view_id, ok | {"nav": "x"}, user_id="UALICE")
    with pytest.raises(ValueError, match="required input 'partner' is empty"):
        await sender.submit_view(view_id, {"mode": "script"}, user_id="UALICE", as_client=True)
    with pytest.raises(ValueError, match=r"'name' needs 0\.\.9 characters, got 10"):
        await sender.submit_view(view_id, ok | {"name": "x" * 10}, user_id="UALICE", as_client=True)
    assert seen == []

    # without as_client they reach the bot, to test its own validation
    await sender.submit_view(view_id, {"mode": "script"}, user_id="UALICE")
    assert seen[-1]["view"]["state"]["values"]["partner"]["partner_input"]["selected_user"] is None


async def test_click_suggest_and_close(
    emulator: SlackEmulator, client: AsyncWebClient, bolt: tuple[SlackSender, list[dict[str, Any]]]
) -> None:
    sender, seen = bolt
    view_id = (await open_modal(emulator, client))["id"]

    response = await sender.suggest(
        view_id, action_id="project_input", block_id="project", value="JI", user_id="UALICE"
    )
    assert response.json == {"options": [option("JI-1", "p1")]}

    await sender.click(action_id="back", view_id=view_id, user_id="UALICE")
    clicked = seen[-1]
    assert clicked["container"] == {"type": "view", "view_id": view_id}
    assert clicked["actions"][0] | {"action_ts": "-"} == {
        "action_id": "back",
        "block_id": "nav",
        "type": "button",
        "text": plain("Back"),
        "value": "step-1",
        "action_ts": "-",
    }
    with pytest.raises(LookupError, match="no element 'next'"):
        await sender.click(action_id="next", view_id=view_id, user_id="UALICE")

    response = await sender.close_view(view_id, user_id="UALICE")
    assert response is not None and response.status == 200
    assert seen[-1]["type"] == "view_closed"
    assert view_id not in emulator.views


async def test_typed_values_travel_with_clicks_and_the_submission(
    emulator: SlackEmulator, client: AsyncWebClient, bolt: tuple[SlackSender, list[dict[str, Any]]]
) -> None:
    sender, seen = bolt
    view_id = (await open_modal(emulator, client))["id"]
    sender.fill(view_id, {"name": "typed", "partner": "UBOB"})

    await sender.click(action_id="back", view_id=view_id, user_id="UALICE")
    values = seen[-1]["view"]["state"]["values"]
    assert values["name"]["name_input"]["value"] == "typed"
    assert values["mode"]["mode_input"]["selected_option"] is None

    await sender.submit_view(view_id, {"mode": "script"}, user_id="UALICE")
    values = seen[-1]["view"]["state"]["values"]
    assert values["partner"]["partner_input"]["selected_user"] == "UBOB"
    assert emulator.views[view_id]["title"] == plain("Review typed")


async def test_message_click_and_events(
    emulator: SlackEmulator, client: AsyncWebClient, bolt: tuple[SlackSender, list[dict[str, Any]]]
) -> None:
    sender, seen = bolt
    actions = {"type": "actions", "elements": [button("Back", "back", "v1")]}
    await client.chat_postMessage(channel="UBOB", text="Invitation", blocks=[actions])
    message = emulator.messages[0]

    await sender.click(action_id="back", message=message, user_id="UBOB")
    clicked = seen[-1]
    assert clicked["container"]["message_ts"] == message["ts"]
    assert clicked["channel"]["id"] == message["channel"]
    assert clicked["message"]["text"] == "Invitation"
    assert clicked["actions"][0]["block_id"] == message["blocks"][0]["block_id"]

    event = {"type": "app_home_opened", "user": "UBOB", "channel": "D1", "tab": "home"}
    response = await sender.event(event, retry_num=1, event_id="Ev1")
    assert response.status == 200
    assert (seen[-1]["event_id"], seen[-1]["event"]["type"]) == ("Ev1", "app_home_opened")


async def test_bolt_over_socket_mode(emulator: SlackEmulator) -> None:
    seen: list[dict[str, Any]] = []
    app = make_app(emulator, seen)
    handler = AsyncSocketModeHandler(app, emulator.app_token)
    await handler.connect_async()
    try:
        ack = await emulator.socket_send(
            "slash_commands",
            command_payload(
                text="connect",
                user_id="UALICE",
                trigger_id=emulator.issue_trigger_id(),
                response_url=emulator.response_url(),
            ),
        )
        echo = await emulator.socket_send(
            "slash_commands",
            command_payload(
                text="hi", user_id="UALICE", trigger_id="t", response_url=emulator.response_url()
            ),
        )
    finally:
        await handler.close_async()
    assert "payload" not in ack
    assert echo["payload"] == {"text": "You said hi"}
    [view] = emulator.views.values()
    assert view["callback_id"] == "wizard"
    assert emulator.problems == []
