"""The emulator's file uploads (bot/devtools/emulator_files.py), driven with slack_sdk's client
and aiohttp, as the bot uploads: files.getUploadURLExternal, the bytes POSTed to the URL,
files.completeUploadExternal into the bot's IM with a user."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from tests.slack_emulator import SlackEmulator

CSV = b"a,b\r\n1,2\r\n"


@pytest.fixture
async def emulator() -> AsyncIterator[SlackEmulator]:
    async with SlackEmulator() as emulator:
        emulator.add_user("UALICE", name="alice")
        emulator.add_channel("CSECRET", name="secret", is_private=True, is_member=False)
        yield emulator


@pytest.fixture
def client(emulator: SlackEmulator) -> AsyncWebClient:
    return AsyncWebClient(token=emulator.bot_token, base_url=emulator.base_url)


async def post(url: str, body: bytes) -> tuple[int, str]:
    async with aiohttp.ClientSession() as http, http.post(url, data=io.BytesIO(body)) as answer:
        return answer.status, await answer.text()


async def test_an_upload_to_a_users_im_in_three_steps(
    emulator: SlackEmulator, client: AsyncWebClient
) -> None:
    im = (await client.conversations_open(users="UALICE"))["channel"]["id"]
    got = await client.files_getUploadURLExternal(filename="export.csv", length=len(CSV))
    file_id = got["file_id"]
    assert got["upload_url"] == f"{emulator.base_url.removesuffix('api/')}upload/{file_id}"
    assert await post(got["upload_url"], CSV) == (200, f"OK - {len(CSV)}")

    done = await client.files_completeUploadExternal(
        files=[{"id": file_id, "title": "The export"}], channel_id=im, initial_comment="Here"
    )
    assert done["files"] == [
        {
            "id": file_id,
            "name": "export.csv",
            "title": "The export",
            "size": len(CSV),
            "mimetype": "text/csv",
            "ims": [im],
            "channels": [],
            "groups": [],
        }
    ]
    [shared] = emulator.files.completed
    assert (shared.channel, shared.title, shared.initial_comment) == (im, "The export", "Here")
    assert shared.data() == CSV
    assert emulator.problems == []


async def test_a_length_that_does_not_match_is_refused_and_recorded(
    emulator: SlackEmulator, client: AsyncWebClient
) -> None:
    got = await client.files_getUploadURLExternal(filename="export.csv", length=len(CSV) + 1)
    assert await post(got["upload_url"], CSV) == (400, "length mismatch")
    assert emulator.problems == [
        f"upload: {len(CSV)} bytes for {got['file_id']}, files.getUploadURLExternal said "
        f"{len(CSV) + 1}"
    ]
    emulator.problems.clear()
    with pytest.raises(SlackApiError) as refused:
        await client.files_completeUploadExternal(files=[{"id": got["file_id"], "title": "x"}])
    assert refused.value.response["error"] == "file_upload_not_found"
    assert await post(got["upload_url"], CSV) == (404, "not found")  # an upload URL is used once
    assert emulator.problems == [
        f"upload: POST to an unknown or used upload URL /upload/{got['file_id']}"
    ]
    emulator.problems.clear()


async def test_what_completing_refuses(emulator: SlackEmulator, client: AsyncWebClient) -> None:
    never = await client.files_getUploadURLExternal(filename="never.csv", length=3)
    got = await client.files_getUploadURLExternal(filename="export.csv", length=len(CSV))
    await post(got["upload_url"], CSV)
    cases = [
        ({"files": [{"id": never["file_id"]}]}, "file_upload_not_found"),
        ({"files": [{"id": "FNOPE"}]}, "file_not_found"),
        ({"files": [{"id": got["file_id"]}], "channel_id": "D404"}, "channel_not_found"),
        ({"files": [{"id": got["file_id"]}], "channel_id": "UALICE"}, "channel_not_found"),
        ({"files": [{"id": got["file_id"]}], "channel_id": "CSECRET"}, "not_in_channel"),
    ]
    for arguments, error in cases:
        with pytest.raises(SlackApiError) as refused:
            await client.files_completeUploadExternal(**arguments)  # type: ignore[arg-type]
        assert refused.value.response["error"] == error, arguments
    assert emulator.files.completed == []
    await client.files_completeUploadExternal(files=[{"id": got["file_id"], "title": "t"}])
    with pytest.raises(SlackApiError) as twice:  # a file is completed once
        await client.files_completeUploadExternal(files=[{"id": got["file_id"], "title": "t"}])
    assert twice.value.response["error"] == "file_not_found"
    assert [f.file_id for f in emulator.files.completed] == [got["file_id"]]
    assert emulator.problems == []


async def test_a_length_must_be_a_positive_integer(
    emulator: SlackEmulator, client: AsyncWebClient
) -> None:
    for length in (0, "many"):
        with pytest.raises(SlackApiError) as refused:
            await client.files_getUploadURLExternal(filename="x.csv", length=length)  # type: ignore[arg-type]
        assert refused.value.response["error"] == "invalid_arguments"
    with pytest.raises(SlackApiError) as missing:
        await client.api_call("files.getUploadURLExternal", params={"filename": "x.csv"})
    assert missing.value.response["error"] == "invalid_arguments"
    assert emulator.problems == ["files.getUploadURLExternal: missing required argument 'length'"]
    emulator.problems.clear()


async def test_another_workspaces_upload_is_not_found(emulator: SlackEmulator) -> None:
    other = emulator.add_workspace(team_id="T0002", name="Globex", installed=True)
    theirs = AsyncWebClient(token=other.bot_token, base_url=emulator.base_url)
    ours = AsyncWebClient(token=emulator.bot_token, base_url=emulator.base_url)
    got = await theirs.files_getUploadURLExternal(filename="export.csv", length=len(CSV))
    await post(got["upload_url"], CSV)
    with pytest.raises(SlackApiError) as refused:
        await ours.files_completeUploadExternal(files=[{"id": got["file_id"], "title": "t"}])
    assert refused.value.response["error"] == "file_not_found"
    assert emulator.problems == []
