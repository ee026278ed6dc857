"""SQLModel tables. Every record carries the Slack team id it belongs to.

A connection holds the lifecycle state (design.md, "An invitation's life"); an invitation is
one code sent to one partner, with its delivery and reminder bookkeeping. The code itself is
never stored: only its SHA-256 (the embedded node redeems by hash).
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator
from sqlmodel import JSON, Column, Field, SQLModel


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every database (SQLite keeps no zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _state(default: StrEnum) -> Any:
    return Field(
        default=default,
        sa_column=Column(sa.String(16), nullable=False, index=True, default=default.value),
    )


def _ts(*, nullable: bool = False, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


class ConnectionState(StrEnum):
    PENDING = "PENDING"
    ACTIVE = "ACTIVE"
    DEACTIVATED = "DEACTIVATED"
    DECLINED = "DECLINED"
    EXPIRED = "EXPIRED"
    CANCELLED = "CANCELLED"
    REMOVED = "REMOVED"  # the node no longer has it
    APPROVAL = "APPROVAL"  # awaiting an approver (EXALATE_APPROVERS): no code yet
    REJECTED = "REJECTED"  # an approver said no: no code ever


class InvitationState(StrEnum):
    PENDING = "PENDING"  # sent, redeemable, reminded
    REDEEMED = "REDEEMED"
    EXPIRED = "EXPIRED"
    REVOKED = "REVOKED"  # declined, cancelled or replaced by a resend


class Connection(SQLModel, table=True):
    __table_args__ = (
        sa.UniqueConstraint("team_id", "name_key", name="uq_connection_team_name"),
        # the Home tab and /exalate list: newest first, by state, recently active
        sa.Index("ix_connection_team_created", "team_id", "created_at"),
        sa.Index("ix_connection_team_status_created", "team_id", "status", "created_at"),
        sa.Index("ix_connection_team_activated", "team_id", "activated_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(index=True, max_length=32)
    name: str = Field(max_length=100)
    name_key: str = Field(max_length=100)  # lower-cased name: unique per team
    destination: str = Field(max_length=16)  # "public" | "private"
    destination_url: str | None = Field(default=None, max_length=2000)
    mode: str = Field(max_length=16)
    local_short_name: str = Field(max_length=40)
    remote_short_name: str = Field(max_length=40)
    description: str = Field(default="", max_length=1000)
    project_key: str = Field(max_length=255)
    project_name: str = Field(max_length=255)
    backend: str = Field(max_length=16)  # "local" | "node"
    backend_id: str | None = Field(default=None, max_length=255)
    status: str = _state(ConnectionState.PENDING)  # a ConnectionState
    # what a real node says when the bot's state doesn't follow it: a status the bot
    # doesn't know ("PAUSED"), or a known one it doesn't move on; None when they agree
    node_status: str | None = Field(default=None, max_length=64)
    initiator_user_id: str = Field(max_length=32)
    partner_user_id: str = Field(max_length=32)
    partner_team_id: str = Field(max_length=32)
    # how each side is named in the other's Slack, where a mention shows nothing
    # (bot/invitations/people.py): "Pat (Globex)" or an e-mail, and "Ada (Acme)"
    partner_label: str = Field(default="", max_length=255)
    initiator_label: str = Field(default="", max_length=255)
    notice_channel: str | None = Field(default=None, max_length=32)
    notice_ts: str | None = Field(default=None, max_length=32)
    partner_project: str | None = Field(default=None, max_length=255)
    activated_at: datetime | None = _ts(nullable=True)
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


class Invitation(SQLModel, table=True):
    __table_args__ = (
        sa.Index("ix_invitation_partner_state", "partner_user_id", "state"),
        # an installation added or removed: the pending invitations its token reaches
        sa.Index("ix_invitation_reach_state", "reach_team_id", "state"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(index=True, max_length=32)
    connection_id: int = Field(foreign_key="connection.id", index=True)
    partner_user_id: str = Field(max_length=32)  # "" while Slack reaches the partner nowhere
    partner_team_id: str = Field(max_length=32)
    # The workspace whose installation's token reaches the partner (their own, or the admin's
    # for a Slack Connect member); None: no installation does, the admin passes the code on.
    reach_team_id: str | None = Field(default=None, max_length=32)
    partner_email: str | None = Field(default=None, max_length=254)
    # the invitation and its reminders go to partner_email by e-mail (SMTP_URL), Slack
    # reaching the partner nowhere or the admin choosing it; reply_to: the admin's address
    by_email: bool = False
    reply_to: str | None = Field(default=None, max_length=254)
    code_hash: str = Field(max_length=64, unique=True)
    code_sealed: str | None = Field(default=None, sa_column=Column(sa.Text, nullable=True))
    state: str = _state(InvitationState.PENDING)  # an InvitationState
    note: str = Field(default="", max_length=1000)
    partner_tz: str | None = Field(default=None, max_length=64)
    reminders_sent: int = 0
    next_reminder_at: datetime | None = _ts(nullable=True, index=True)
    escalated_at: datetime | None = _ts(nullable=True)
    expires_at: datetime = _ts(index=True)
    redeemed_at: datetime | None = _ts(nullable=True)
    dm_channel: str | None = Field(default=None, max_length=32)
    dm_ts: str | None = Field(default=None, max_length=32)
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


class ApprovalState(StrEnum):
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"


class Approval(SQLModel, table=True):
    """A connection's request for approval (EXALATE_APPROVERS): what its invitation needs
    once approved (`request`: the partner's reach, zone, address, note; a pasted console code
    sealed), who decided what, and when it expires unanswered."""

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(index=True, max_length=32)
    connection_id: int = Field(foreign_key="connection.id", index=True)
    requested_by: str = Field(max_length=32)
    approvers: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    request: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    pasted_sealed: str | None = Field(default=None, sa_column=Column(sa.Text, nullable=True))
    state: str = _state(ApprovalState.PENDING)  # an ApprovalState
    decided_by: str | None = Field(default=None, max_length=32)
    reason: str = Field(default="", max_length=1000)
    expires_at: datetime = _ts(index=True)
    decided_at: datetime | None = _ts(nullable=True)
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


class WizardDraft(SQLModel, table=True):
    __tablename__ = "wizard_draft"

    view_key: str = Field(primary_key=True, max_length=64)  # the modal's external_id
    team_id: str = Field(index=True, max_length=32)
    user_id: str = Field(max_length=32)
    step: str = Field(max_length=16)
    answers: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = _ts()
    updated_at: datetime = _ts(index=True)


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(index=True, max_length=32)
    connection_id: int | None = Field(default=None, foreign_key="connection.id", index=True)
    invitation_id: int | None = Field(default=None, foreign_key="invitation.id")
    actor: str = Field(max_length=32)  # a Slack user id, or "system"
    action: str = Field(max_length=32)
    from_state: str | None = Field(default=None, max_length=16)
    to_state: str | None = Field(default=None, max_length=16)
    detail: str = Field(default="", max_length=2000)
    at: datetime = _ts(index=True)


class LocalNodeConnection(SQLModel, table=True):
    """The embedded local node's own record of a connection and its invitation code."""

    __tablename__ = "local_node_connection"

    id: str = Field(primary_key=True, max_length=32)
    team_id: str = Field(index=True, max_length=32)
    name: str = Field(max_length=100)
    status: str = Field(default="PENDING", max_length=16)
    project_key: str = Field(max_length=255)
    partner_user_id: str = Field(max_length=32)
    code_hash: str | None = Field(default=None, max_length=64, unique=True)
    code_state: str = Field(default="ISSUED", max_length=16)  # ISSUED | REDEEMED | REVOKED
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


class Outbox(SQLModel, table=True):
    """A message to send (a DM or a notice), written in the same transaction as the change that
    calls for it and sent afterwards, with retries, by whichever replica claims it first."""

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    key: str = Field(max_length=128, unique=True)  # idempotency: one message per key
    purpose: str = Field(max_length=32)  # e.g. invitation_dm, reminder, notice
    channel: str = Field(max_length=32)  # a channel id, or a user id for a DM
    in_thread: bool = False  # a notice in the connection's thread
    connection_id: int | None = Field(default=None, foreign_key="connection.id")
    invitation_id: int | None = Field(default=None, foreign_key="invitation.id")
    text: str = Field(max_length=4000)
    blocks: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    sealed: str | None = Field(default=None, sa_column=Column(sa.Text, nullable=True))
    # an edit (chat.update) of the message this outbox row posted; None: a new message
    edit_of: int | None = Field(default=None, index=True)
    # an e-mail to this address (bot/mail/: the mail courier's, never the Slack courier's)
    email_to: str | None = Field(default=None, max_length=254)
    attempts: int = 0
    not_before: datetime = _ts(index=True)  # due from; a claim moves it forward (a lease)
    sent_at: datetime | None = _ts(nullable=True, index=True)
    failed_at: datetime | None = _ts(nullable=True)
    posted_channel: str | None = Field(default=None, max_length=32)
    posted_ts: str | None = Field(default=None, max_length=32)
    last_error: str | None = Field(default=None, max_length=255)
    created_at: datetime = _ts()


class DmChannel(SQLModel, table=True):
    """The bot's DM channel with a user, cached so reminders need no conversations.open."""

    __tablename__ = "dm_channel"

    team_id: str = Field(primary_key=True, max_length=32)
    user_id: str = Field(primary_key=True, max_length=32)
    channel_id: str = Field(max_length=32)


class HomeTab(SQLModel, table=True):
    """Who has opened the bot's Home tab, so it can be refreshed when what they see changes."""

    __tablename__ = "home_tab"

    team_id: str = Field(primary_key=True, max_length=32)
    user_id: str = Field(primary_key=True, max_length=32)
    is_admin: bool = False
    dirty: bool = Field(default=False, index=True)  # a change they see is not published yet
    opened_at: datetime = _ts()


class IdempotencyKey(SQLModel, table=True):
    """One effect per key, across replicas: a double click, a retried event, a resubmission."""

    __tablename__ = "idempotency_key"

    key: str = Field(primary_key=True, max_length=160)
    result: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_at: datetime = _ts(index=True)


# slack_sdk's OAuth tables (AsyncSQLAlchemyInstallationStore, AsyncSQLAlchemyOAuthStateStore),
# column for column and with its indexes, but created by our migrations; the token columns are
# Text, since they hold tokens sealed by the vault (about three times a token's length).
# slack_sdk writes naive UTC datetimes in them (its `normalize_datetime_for_db`).

SlackInstallations = sa.Table(
    "slack_installations",
    SQLModel.metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("client_id", sa.String(32), nullable=False),
    sa.Column("app_id", sa.String(32), nullable=False),
    sa.Column("enterprise_id", sa.String(32)),
    sa.Column("enterprise_name", sa.String(200)),
    sa.Column("enterprise_url", sa.String(200)),
    sa.Column("team_id", sa.String(32)),
    sa.Column("team_name", sa.String(200)),
    sa.Column("bot_token", sa.Text),
    sa.Column("bot_id", sa.String(32)),
    sa.Column("bot_user_id", sa.String(32)),
    sa.Column("bot_scopes", sa.String(1000)),
    sa.Column("bot_refresh_token", sa.Text),
    sa.Column("bot_token_expires_at", sa.DateTime),
    sa.Column("user_id", sa.String(32), nullable=False),
    sa.Column("user_token", sa.Text),
    sa.Column("user_scopes", sa.String(1000)),
    sa.Column("user_refresh_token", sa.Text),
    sa.Column("user_token_expires_at", sa.DateTime),
    sa.Column("incoming_webhook_url", sa.String(200)),
    sa.Column("incoming_webhook_channel", sa.String(200)),
    sa.Column("incoming_webhook_channel_id", sa.String(200)),
    sa.Column("incoming_webhook_configuration_url", sa.String(200)),
    sa.Column("is_enterprise_install", sa.Boolean, default=False, nullable=False),
    sa.Column("token_type", sa.String(32)),
    sa.Column("installed_at", sa.DateTime, nullable=False, default=sa.func.now()),
    sa.Index(
        "slack_installations_idx",
        "client_id",
        "enterprise_id",
        "team_id",
        "user_id",
        "installed_at",
    ),
)

SlackBots = sa.Table(
    "slack_bots",
    SQLModel.metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("client_id", sa.String(32), nullable=False),
    sa.Column("app_id", sa.String(32), nullable=False),
    sa.Column("enterprise_id", sa.String(32)),
    sa.Column("enterprise_name", sa.String(200)),
    sa.Column("team_id", sa.String(32)),
    sa.Column("team_name", sa.String(200)),
    sa.Column("bot_token", sa.Text),
    sa.Column("bot_id", sa.String(32)),
    sa.Column("bot_user_id", sa.String(32)),
    sa.Column("bot_scopes", sa.String(1000)),
    sa.Column("bot_refresh_token", sa.Text),
    sa.Column("bot_token_expires_at", sa.DateTime),
    sa.Column("is_enterprise_install", sa.Boolean, default=False, nullable=False),
    sa.Column("installed_at", sa.DateTime, nullable=False, default=sa.func.now()),
    sa.Index("slack_bots_idx", "client_id", "enterprise_id", "team_id", "installed_at"),
)

SlackOAuthStates = sa.Table(
    "slack_oauth_states",
    SQLModel.metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("state", sa.String(200), nullable=False),
    sa.Column("expire_at", sa.DateTime, nullable=False),
    sa.Index("ix_slack_oauth_states_state", "state"),  # ours: consumed by its value
)
