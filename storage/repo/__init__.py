"""Repository functions, one module per table, re-exported here: `repo.create_connection(...)`.

Every function is keyword-only and runs on a session the caller owns (and commits); every
state change writes its audit row in the same transaction (`add_audit`).
"""

from storage.repo.audit import add_audit, add_audits, list_audit
from storage.repo.connection_states import (
    connections_by_id,
    expire_pending_connections,
    find_connection,
    move_connection,
    watched_connections,
)
from storage.repo.connections import (
    connection_name_taken,
    connection_names_with_prefix,
    create_connection,
    get_connection_by_name,
    invitation_sealed_code,
)
from storage.repo.dm_channels import get_dm_channels, save_dm_channel
from storage.repo.drafts import delete_draft, draft_answers, get_draft, purge_drafts, save_draft
from storage.repo.homes import claim_dirty_homes, home_opened, mark_home_dirty, mark_homes_dirty
from storage.repo.invitations import (
    add_invitation,
    claim_due_reminders,
    claim_expired,
    get_invitation,
    invitation_by_code_hash,
    move_invitation,
    newest_invitation,
    newest_invitation_id,
    pending_invitation,
    revoke_pending_invitations,
)
from storage.repo.keys import claim_key, key_state, purge_keys, release_key, set_key_result
from storage.repo.listings import (
    all_audit_events,
    all_connections,
    count_all_by_status,
    count_all_invitations_by_state,
    count_by_status,
    count_connections,
    count_connections_in,
    latest_invitations,
    list_connections,
    names_like,
    recently_active,
    waiting_for_partner,
)
from storage.repo.local_node import (
    get_local_connection,
    local_statuses,
    replace_local_values,
    save_local_connection,
)
from storage.repo.outbox import (
    claim_due_messages,
    enqueue_message,
    enqueue_messages,
    mark_dm_landed,
    mark_send_failed,
    mark_sent,
    mark_thread_started,
    thread_roots,
)

__all__ = [
    "add_audit",
    "add_audits",
    "add_invitation",
    "all_audit_events",
    "all_connections",
    "claim_dirty_homes",
    "claim_due_messages",
    "claim_due_reminders",
    "claim_expired",
    "claim_key",
    "connection_name_taken",
    "connection_names_with_prefix",
    "connections_by_id",
    "count_all_by_status",
    "count_all_invitations_by_state",
    "count_by_status",
    "count_connections",
    "count_connections_in",
    "create_connection",
    "delete_draft",
    "draft_answers",
    "enqueue_message",
    "enqueue_messages",
    "expire_pending_connections",
    "find_connection",
    "get_connection_by_name",
    "get_dm_channels",
    "get_draft",
    "get_invitation",
    "get_local_connection",
    "home_opened",
    "invitation_by_code_hash",
    "invitation_sealed_code",
    "key_state",
    "latest_invitations",
    "list_audit",
    "list_connections",
    "local_statuses",
    "mark_dm_landed",
    "mark_home_dirty",
    "mark_homes_dirty",
    "mark_send_failed",
    "mark_sent",
    "mark_thread_started",
    "move_connection",
    "move_invitation",
    "names_like",
    "newest_invitation",
    "newest_invitation_id",
    "pending_invitation",
    "purge_drafts",
    "purge_keys",
    "recently_active",
    "release_key",
    "replace_local_values",
    "revoke_pending_invitations",
    "save_dm_channel",
    "save_draft",
    "save_local_connection",
    "set_key_result",
    "thread_roots",
    "waiting_for_partner",
    "watched_connections",
]
