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
    BackendError,
    CodeRejected,
    ConnectionBackend,
    ConnectionRef,
    ConnectionSpec,
    Initiated,
    Project,
    ProjectPage,
)
from bot.clock import Clock
from bot.security import hash_code, new_code, same_hash
from storage import repo
from storage.db import transaction
from storage.models import LocalNodeConnection

ISSUED, REDEEMED, REVOKED = "ISSUED", "REDEEMED", "REVOKED"
NO_CODE = "NO_CODE"  # a connection the admin accepts on the destination themselves


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
            await repo.save_local_connection(session=session, record=record)
        return Initiated(backend_id=record.id, code=code)

    async def initiate_without_code(self, spec: ConnectionSpec) -> str:
        """A Pending record with no code: nobody can redeem it; the admin, with admin access
        on both sides, accepts it on the destination (`accepted_on_destination`)."""
        now = self._clock.now()
        record = LocalNodeConnection(
            id=uuid.uuid4().hex,
            team_id=spec.team_id,
            name=spec.name,
            project_key=spec.project_key,
            partner_user_id="",
            code_hash=None,
            code_state=NO_CODE,
            created_at=now,
            updated_at=now,
        )
        async with transaction(self._sessions) as session:
            await repo.save_local_connection(session=session, record=record)
        return record.id

    async def accepted_on_destination(self, backend_id: str) -> None:
        """This node has no destination to ask: it takes the admin's word that they accepted
        the connection there, as a console sees the destination's pop-up accepted. Only a
        Pending connection without a code turns Active this way."""
        async with transaction(self._sessions) as session:
            record = await repo.get_local_connection(
                session=session, backend_id=backend_id, for_update=True
            )
            if record is None or record.code_state != NO_CODE:
                raise BackendError("that connection waits for its partner's invitation code")
            if record.status == "ACTIVE":
                return
            if record.status != "PENDING":
                raise BackendError(f"that connection is {record.status.lower()} on the node")
            record.status, record.updated_at = "ACTIVE", self._clock.now()
            await repo.save_local_connection(session=session, record=record)

    async def statuses(self, refs: list[ConnectionRef]) -> dict[str, str]:
        backend_ids = [ref.backend_id for ref in refs if ref.backend_id]
        async with self._sessions() as session:
            return await repo.local_statuses(session=session, backend_ids=backend_ids)

    async def redeem(self, backend_id: str, code: str, *, partner_user_id: str) -> None:
        """A code redeems once, only for its partner (a code issued to nobody in Slack, sent
        by e-mail: for whoever holds it), only while issued; then Active."""
        async with transaction(self._sessions) as session:
            record = await repo.get_local_connection(
                session=session, backend_id=backend_id, for_update=True
            )
            if record is None or not record.code_hash:
                raise CodeRejected("unknown")
            if not same_hash(record.code_hash, hash_code(code)):
                raise CodeRejected("unknown")
            if record.partner_user_id and record.partner_user_id != partner_user_id:
                raise CodeRejected("other_partner")
            if record.code_state == REDEEMED:
                raise CodeRejected("used")
            if record.code_state != ISSUED:
                raise CodeRejected("revoked")
            record.code_state, record.status = REDEEMED, "ACTIVE"
            record.updated_at = self._clock.now()
            await repo.save_local_connection(session=session, record=record)

    async def revoke(self, backend_id: str) -> None:
        async with transaction(self._sessions) as session:
            record = await repo.get_local_connection(
                session=session, backend_id=backend_id, for_update=True
            )
            if record is None:
                return
            if record.code_state == ISSUED:
                record.code_state = REVOKED
            if record.status == "PENDING":
                record.status = "DELETED"
            record.updated_at = self._clock.now()
            await repo.save_local_connection(session=session, record=record)

    async def revoke_many(self, backend_ids: list[str]) -> None:
        """`revoke` for a batch (an expiry sweep): two statements a few thousand ids."""
        now = self._clock.now()
        async with transaction(self._sessions) as session:
            for field, old, new in (
                ("code_state", ISSUED, REVOKED),
                ("status", "PENDING", "DELETED"),
            ):
                await repo.replace_local_values(
                    session=session, backend_ids=backend_ids, field=field, old=old, new=new, now=now
                )

    async def reissue(self, backend_id: str) -> Initiated:
        code = new_code()
        async with transaction(self._sessions) as session:
            record = await repo.get_local_connection(
                session=session, backend_id=backend_id, for_update=True
            )
            if record is None or record.status == "ACTIVE":
                raise BackendError("that connection can no longer be re-invited")
            if record.code_state == NO_CODE:
                raise BackendError("that connection has no invitation code to send again")
            record.code_hash, record.code_state = hash_code(code), ISSUED
            record.status, record.updated_at = "PENDING", self._clock.now()
            await repo.save_local_connection(session=session, record=record)
        return Initiated(backend_id=backend_id, code=code)

    async def set_status(self, backend_id: str, status: str) -> None:
        """What an admin does on the node's own console (used by the demo and tests)."""
        async with transaction(self._sessions) as session:
            record = await repo.get_local_connection(session=session, backend_id=backend_id)
            if record is not None:
                record.status, record.updated_at = status, self._clock.now()
                await repo.save_local_connection(session=session, record=record)
