"""What admins ask of the bot by command: find a connection by name, list, status."""

from __future__ import annotations

import difflib
from typing import Any

from bot.commands.texts import WHICH_CONNECTION
from bot.commands.views import PAGE, build_list, build_status, unknown_name
from bot.home.views import rows
from bot.invitations.errors import Refused
from bot.services import Services
from storage import repo
from storage.models import Connection

FILTERS = {
    "pending": ["PENDING"],
    "active": ["ACTIVE"],
    "expired": ["EXPIRED"],
    "declined": ["DECLINED"],
    "cancelled": ["CANCELLED"],
    "deactivated": ["DEACTIVATED"],
    "removed": ["REMOVED"],
    "all": [],
}


class Operations:
    def __init__(self, services: Services) -> None:
        self.s = services

    async def find(self, *, team_id: str, name: str) -> Connection:
        """A connection by name, case-insensitively; a near miss suggests the right name."""
        name = name.strip().strip("`")
        if not name:
            raise Refused(WHICH_CONNECTION)
        async with self.s.sessions() as session:
            found = await repo.get_connection_by_name(session=session, team_id=team_id, name=name)
            if found is not None:
                return found
            candidates = await repo.names_like(
                session=session, team_id=team_id, prefix=name[:3], limit=500
            )
            if not candidates:
                candidates = await repo.names_like(
                    session=session, team_id=team_id, prefix=name[:1], limit=2000
                )
        by_key = {candidate.lower(): candidate for candidate in candidates}
        close = difflib.get_close_matches(name.lower(), list(by_key), n=1, cutoff=0.6)
        raise Refused(unknown_name(name, by_key[close[0]] if close else None))

    async def list(self, *, team_id: str, which: str, offset: int = 0) -> dict[str, Any]:
        which = which.lower() if which.lower() in FILTERS else "all"
        statuses = FILTERS[which]
        offset = max(offset, 0)
        async with self.s.sessions() as session:
            total = await repo.count_connections_in(
                session=session, team_id=team_id, statuses=statuses
            )
            page = await repo.list_connections(
                session=session, team_id=team_id, statuses=statuses, offset=offset, limit=PAGE
            )
            latest = await repo.latest_invitations(
                session=session, connection_ids=[c.id or 0 for c in page]
            )
        return build_list(
            rows=rows(page, latest),
            total=total,
            which=which,
            offset=offset,
            now=self.s.clock.now(),
            reminder_max=self.s.settings.reminder_max,
        )

    async def status(self, *, team_id: str, name: str) -> dict[str, Any]:
        connection = await self.find(team_id=team_id, name=name)
        async with self.s.sessions() as session:
            events = await repo.list_audit(session=session, connection_id=connection.id or 0)
            latest = await repo.latest_invitations(
                session=session, connection_ids=[connection.id or 0]
            )
        return build_status(
            row=rows([connection], latest)[0],
            mode=connection.mode,
            project=f"{connection.project_name} ({connection.project_key})",
            events=events,
            now=self.s.clock.now(),
            reminder_max=self.s.settings.reminder_max,
        )
