"""The embedded local node: the default backend when EXALATE_NODE_URL is unset.

It keeps its own table (`local_node_connection`) in the bot's database, lists a configurable
set of projects, creates connections as Pending and issues their invitation codes, each bound
to one connection and one partner and stored only as a hash.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.backend.base import (
    ConnectionBackend,
    ConnectionSpec,
    Initiated,
    Project,
    ProjectPage,
)
from bot.clock import Clock
from bot.security import hash_code, new_code
from storage.db import transaction
from storage.models import LocalNodeConnection


def parse_projects(text: str) -> list[Project]:
    """`SUP=Support,DEV=Development` (a bare `KEY` is its own name)."""
    projects: list[Project] = []
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        key, _, name = item.partition("=")
        key, name = key.strip(), name.strip() or key.strip()
        if not key or len(key) > 255 or len(name) > 255:
            raise ValueError(f"{item!r} is not a KEY=Name pair")
        projects.append(Project(key=key, name=name))
    if not projects:
        raise ValueError("no projects given")
    if len({p.key for p in projects}) != len(projects):
        raise ValueError("a project key is listed twice")
    return projects


class LocalNode(ConnectionBackend):
    kind = "local"

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        instance: str,
        projects: list[Project],
        clock: Clock,
    ) -> None:
        self._sessions = sessions
        self._instance = instance
        self._projects = projects
        self._clock = clock

    async def instance_name(self) -> str:
        return self._instance

    async def search_projects(self, query: str = "", *, limit: int = 100) -> ProjectPage:
        needle = query.strip().lower()
        matches = [p for p in self._projects if needle in p.key.lower() or needle in p.name.lower()]
        return ProjectPage(projects=matches[:limit], total=len(matches))

    async def initiate(self, spec: ConnectionSpec) -> Initiated:
        code = new_code()
        now = self._clock.now()
        record = LocalNodeConnection(
            id=uuid.uuid4().hex,
            team_id=spec.team_id,
            name=spec.name,
            project_key=spec.project_key,
            partner_user_id=spec.partner_user_id,
            code_hash=hash_code(code),
            created_at=now,
            updated_at=now,
        )
        async with transaction(self._sessions) as session:
            session.add(record)
        return Initiated(backend_id=record.id, code=code)
