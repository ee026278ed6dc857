"""What the handlers need, built once per process and handed to them through Bolt's context."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.backend.base import ConnectionBackend
from bot.clock import Clock
from bot.delivery.courier import Courier
from bot.delivery.outcomes import Delivery
from bot.installs.workspaces import OneWorkspace, Workspaces
from bot.mail.courier import MailCourier
from bot.mail.sender import Sender, SmtpSender
from bot.metrics import Metrics
from bot.permissions import Permissions
from bot.security import Vault
from bot.settings import Settings
from bot.slack.pacing import CHANNEL_SECONDS, Pacer


@dataclass
class Services:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    backend: ConnectionBackend
    clock: Clock
    permissions: Permissions
    vault: Vault
    slack: AsyncWebClient | None = None  # the app's client, for work outside a request
    metrics: Metrics = field(default_factory=Metrics)
    pacer: Pacer | None = None  # set from the settings in __post_init__
    workspaces: Workspaces | None = None  # OAuth mode: set by the app; else the one workspace
    mail_sender: Sender | None = None  # default: SMTP_URL's server (tests may give their own)

    def __post_init__(self) -> None:
        if self.workspaces is None:
            self.workspaces = OneWorkspace(lambda: self.slack)
        if self.pacer is None:
            self.pacer = Pacer(
                per_minute=self.settings.slack_messages_per_minute,
                per_channel_seconds=CHANNEL_SECONDS,
            )

    inflight: set[asyncio.Task[object]] = field(default_factory=set)
    # what a feature keeps for a while in this process (bot/report: each workspace's Home
    # funnel, a few minutes), by a key of its own
    kept: dict[Any, Any] = field(default_factory=dict)

    @cached_property
    def courier(self) -> Courier:
        """The process's one Courier (every handler and the sweep use it): what it posted but
        could not record yet stays with it until it is recorded, and it never claims such a
        row again. Built on first use, not in __post_init__, from the services as they are
        then (bot/devtools/local.py swaps the pacer after building them)."""
        assert self.pacer is not None
        return Courier(
            sessions=self.sessions,
            vault=self.vault,
            clock=self.clock,
            pacer=self.pacer,
            metrics=self.metrics,
            client_for=self.slack_client,
            forget=self.forget_workspace,
        )

    @cached_property
    def approvers(self) -> Permissions | None:
        """EXALATE_APPROVERS, who approve invitations before they go out; None when unset
        (no approvals)."""
        approvers = self.settings.exalate_approvers
        return Permissions(approvers) if approvers else None

    @cached_property
    def mail_courier(self) -> MailCourier | None:
        """The process's one mail courier (the outbox's e-mail rows), or None without
        SMTP_URL: then no row is ever written for e-mail."""
        target, sender_address = self.settings.smtp, self.settings.smtp_from
        if target is None or sender_address is None:
            return None
        return MailCourier(
            sessions=self.sessions,
            vault=self.vault,
            clock=self.clock,
            sender=self.mail_sender or SmtpSender(target),
            sender_address=sender_address,
            per_minute=self.settings.smtp_messages_per_minute,
        )

    async def deliver(self, ids: list[int]) -> list[Delivery]:
        """Send these outbox rows now, where they are due: Slack's by the courier, e-mail's by
        the mail courier (the sweep retries what doesn't go now)."""
        delivered = await self.courier.run(ids=ids)
        if self.mail_courier is not None and ids:
            mailed = await self.mail_courier.run(ids=ids)
            told = [d.follow_up for d in mailed if d.follow_up is not None]  # a refusal's DM
            delivered += mailed + (await self.courier.run(ids=told) if told else [])
        return delivered

    def track(self, task: asyncio.Task[object] | None = None) -> None:
        """Count `task` (default: the current one) as in-flight work until it ends (see
        `drain`)."""
        task = task or asyncio.current_task()
        if task is not None and task not in self.inflight:
            self.inflight.add(task)
            task.add_done_callback(self.inflight.discard)

    async def drain(self, within: float) -> None:
        """Let in-flight work (listeners after their ack, a sweep) finish before shutdown."""
        others = {t for t in self.inflight if t is not asyncio.current_task() and not t.done()}
        if not others:
            return
        _, pending = await asyncio.wait(others, timeout=within)
        if pending:
            logging.getLogger(__name__).warning(
                "shutting down with %d task(s) still running", len(pending)
            )

    async def slack_client(self, team_id: str) -> AsyncWebClient | None:
        """The Web API client for a workspace's background work (reminders, the outbox, a
        Home tab): its installation's, or None where the app is not installed (any more)."""
        assert self.workspaces is not None
        return await self.workspaces.client(team_id)

    def forget_workspace(self, team_id: str) -> None:
        """Slack refused the workspace's token: read its installation again next time."""
        assert self.workspaces is not None
        self.workspaces.forget(team_id)
