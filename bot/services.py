"""What the handlers need, built once per process and handed to them through Bolt's context."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.backend.base import ConnectionBackend
from bot.clock import Clock
from bot.permissions import Permissions
from bot.settings import Settings


@dataclass
class Services:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    backend: ConnectionBackend
    clock: Clock
    permissions: Permissions
