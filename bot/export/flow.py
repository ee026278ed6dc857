"""`/exalate export`, after the command's ack: the audit trail read in pages into a temporary
file, the file uploaded to the admin's DM, and what to tell the admin."""

from __future__ import annotations

import logging
import tempfile
from datetime import timedelta

from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.exc import SQLAlchemyError

from bot.export import texts
from bot.export.csvfile import write_csv
from bot.export.upload import UploadRefused, upload_file
from bot.services import Services
from bot.slack.errors import SLACK_FAILURES, slack_error
from storage import repo

log = logging.getLogger(__name__)


async def export(
    services: Services, client: AsyncWebClient, *, team_id: str, user_id: str, days: int
) -> str:
    """Build the team's export of the last `days` days and share it in the bot's DM with
    `user_id` (the request's client: the team's token). Returns the reply to the admin."""
    until = services.clock.now()
    since = until - timedelta(days=days)
    with tempfile.TemporaryFile() as out:
        try:
            async with services.sessions() as session:
                pages = repo.audit_trail_pages(session=session, team_id=team_id, since=since)
                events = await write_csv(pages, out)
        except (SQLAlchemyError, OSError) as exc:
            log.warning("/exalate export: database unavailable: %s", type(exc).__name__)
            return texts.DATABASE_AWAY
        if events == 0:
            return texts.nothing(days)
        length = out.tell()
        try:
            opened = await client.conversations_open(users=user_id)
            await upload_file(
                client,
                file=out,
                length=length,
                filename=texts.filename(until),
                title=texts.title(days),
                channel_id=str(opened["channel"]["id"]),
                comment=texts.comment(events, since, until),
            )
        except (*SLACK_FAILURES, UploadRefused) as exc:
            error = str(exc) if isinstance(exc, UploadRefused) else slack_error(exc)
            log.warning("/exalate export: the upload failed: %s", error)
            return texts.upload_failed(error)
    log.info("/exalate export: %d audit events, %d bytes, for %s", events, length, team_id)
    return texts.done(events, days)
