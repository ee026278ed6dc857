"""A file to a Slack channel in Slack's three steps, streamed from disk: slack_sdk's
`files_upload_v2` reads the whole file into memory first, so the steps are done here.

1. `files.getUploadURLExternal` with the file's name and length in bytes: a URL and a file id;
2. the file POSTed to that URL, read from the file object in chunks by aiohttp;
3. `files.completeUploadExternal`: the file shared in the channel, with a comment.
"""

from __future__ import annotations

from typing import IO

import aiohttp
from slack_sdk.web.async_client import AsyncWebClient


class UploadRefused(Exception):
    """The upload URL answered something other than 200; the message is its status."""


async def upload_file(
    client: AsyncWebClient,
    *,
    file: IO[bytes],
    length: int,
    filename: str,
    title: str,
    channel_id: str,
    comment: str,
) -> str:
    """Share `length` bytes of `file` (from its start) in `channel_id`; returns the file id.
    Raises slack_sdk's SlackApiError, aiohttp's errors, TimeoutError or UploadRefused."""
    got = await client.files_getUploadURLExternal(filename=filename, length=length)
    file_id, url = str(got["file_id"]), str(got["upload_url"])
    file.seek(0)
    await _post(client, url, file)
    await client.files_completeUploadExternal(
        files=[{"id": file_id, "title": title}], channel_id=channel_id, initial_comment=comment
    )
    return file_id


async def _post(client: AsyncWebClient, url: str, file: IO[bytes]) -> None:
    """The bytes to the upload URL, through the client's HTTP session if it has one (and its
    proxy and TLS settings), each read and write held to the client's timeout."""
    timeout = aiohttp.ClientTimeout(sock_connect=client.timeout, sock_read=client.timeout)
    extra = {"ssl": client.ssl} if client.ssl is not None else {}
    own = client.session is None
    http = aiohttp.ClientSession() if own else client.session
    assert http is not None
    try:
        async with http.post(
            url, data=file, timeout=timeout, proxy=client.proxy, **extra
        ) as answer:
            if answer.status != 200:
                raise UploadRefused(f"http_{answer.status}")
    finally:
        if own:
            await http.close()
