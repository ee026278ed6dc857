"""The emulator's file uploads, as Slack's current way goes (files.upload was retired in 2025):

1. ``files.getUploadURLExternal`` (``filename``, ``length`` in bytes) answers an ``upload_url``
   and a ``file_id``;
2. the bytes are POSTed to that URL (no token: the URL is the credential), which answers 200
   and "OK - <length>" only if exactly ``length`` bytes came;
3. ``files.completeUploadExternal`` (``files``: a JSON array of ``{"id", "title"}``, and a
   ``channel_id`` to share it in) finishes it: every file must have been uploaded, the channel
   must be one the bot can post in.

The uploads are the server's (one ``FileStore``, shared by its workspaces, whose methods call
it); the bytes go to a temporary file, so a large upload costs the emulator no memory. Tests
read what was shared from ``completed`` (``Upload.data()``).
"""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

from aiohttp import web

from bot.devtools.emulator_calls import JsonDict, SlackError

CHUNK = 64 * 1024


@dataclass
class Upload:
    file_id: str
    team_id: str
    filename: str
    length: int
    alt_txt: str | None = None
    received: int | None = None  # bytes that came to the upload URL (None: nothing yet)
    title: str | None = None
    channel: str | None = None  # shared there by files.completeUploadExternal
    initial_comment: str | None = None
    done: bool = False  # completed (once)
    _body: IO[bytes] | None = field(default=None, repr=False)

    @property
    def uploaded(self) -> bool:
        return self.received == self.length

    def data(self) -> bytes:
        """The bytes uploaded (for tests: the whole file, read at once)."""
        if self._body is None:
            return b""
        self._body.seek(0)
        return self._body.read()

    def close(self) -> None:
        if self._body is not None:
            self._body.close()


class FileStore:
    def __init__(self, problem: Callable[[str, list[str]], None]) -> None:
        """`problem(where, problems)`: the server's record of what a caller did wrong."""
        self.uploads: dict[str, Upload] = {}  # by file id
        self.completed: list[Upload] = []  # shared by files.completeUploadExternal, in order
        self.base_url = ""  # where the server takes uploads; set when it starts
        self._problem = problem
        self._ids = itertools.count(1)

    def close(self) -> None:
        for upload in self.uploads.values():
            upload.close()

    # -- Web API methods (called by a workspace's handlers) ---------------------------------

    def get_upload_url(self, team_id: str, params: JsonDict) -> JsonDict:
        try:
            length = int(str(params["length"]))
        except ValueError:
            raise SlackError("invalid_arguments", "length must be an integer") from None
        if length < 1:
            raise SlackError("invalid_arguments", "length must be positive")
        file_id = f"F{next(self._ids):08d}"
        self.uploads[file_id] = Upload(
            file_id=file_id,
            team_id=team_id,
            filename=str(params["filename"]),
            length=length,
            alt_txt=params.get("alt_txt"),
        )
        return {"upload_url": f"{self.base_url}{file_id}", "file_id": file_id}

    def complete(self, team_id: str, params: JsonDict, channel: str | None) -> JsonDict:
        """`channel`: where `channel_id` shares the files (checked by the workspace), or None."""
        wanted = params["files"]
        if not isinstance(wanted, list) or not wanted:
            raise SlackError("invalid_arguments", "files must be a non-empty JSON array")
        uploads = []
        for item in wanted:
            file_id = item.get("id") if isinstance(item, dict) else None
            upload = self.uploads.get(str(file_id))
            if upload is None or upload.team_id != team_id or upload.done:
                raise SlackError("file_not_found")
            if not upload.uploaded:
                raise SlackError("file_upload_not_found")
            uploads.append((upload, item))
        for upload, item in uploads:
            upload.title = str(item.get("title") or upload.filename)
            upload.channel = channel
            upload.initial_comment = params.get("initial_comment")
            upload.done = True
            self.completed.append(upload)
        return {"files": [self._file(upload) for upload, _ in uploads]}

    @staticmethod
    def _file(upload: Upload) -> JsonDict:
        shared = [upload.channel] if upload.channel else []
        return {
            "id": upload.file_id,
            "name": upload.filename,
            "title": upload.title,
            "size": upload.length,
            "mimetype": "text/csv" if upload.filename.endswith(".csv") else "",
            "ims": [c for c in shared if c.startswith("D")],
            "channels": [c for c in shared if c.startswith("C")],
            "groups": [c for c in shared if c.startswith("G")],
        }

    # -- the upload URL ---------------------------------------------------------------------

    async def handle_upload(self, request: web.Request) -> web.Response:
        """POST /upload/{file_id}: the file's bytes, read in chunks into a temporary file."""
        upload = self.uploads.get(request.match_info["file_id"])
        if upload is None or upload.received is not None:
            self._problem("upload", [f"POST to an unknown or used upload URL {request.path}"])
            return web.Response(status=404, text="not found")
        body: Any = tempfile.SpooledTemporaryFile(max_size=CHUNK)  # noqa: SIM115
        received = 0
        async for chunk in request.content.iter_chunked(CHUNK):
            received += len(chunk)
            body.write(chunk)
        upload.received, upload._body = received, body
        if received != upload.length:
            said = f"files.getUploadURLExternal said {upload.length}"
            self._problem("upload", [f"{received} bytes for {upload.file_id}, {said}"])
            return web.Response(status=400, text="length mismatch")
        return web.Response(text=f"OK - {received}")
