"""How the two sides are named in each other's Slack.

A mention (`<@U…>`) shows a name only in a workspace where Slack can see that person. When
the partner is in the admin's own workspace, both sides see each other: mentions. When the
partner is in another company's Slack (or Slack reaches them nowhere), the admin's channel
and DMs name the partner by the label kept at initiation ("Pat (Globex)", or their e-mail),
and the partner's DMs name the admin the same way ("Ada (Acme)"): the only things one
workspace learns of the other.
"""

from __future__ import annotations

from storage.models import Connection


def mention(user_id: str) -> str:
    return f"<@{user_id}>"


def same_workspace(connection: Connection) -> bool:
    return bool(connection.partner_user_id) and connection.partner_team_id == connection.team_id


def partner_for_admin(connection: Connection) -> str:
    """The partner, in the admin's workspace (its channel notices and the admin's DMs)."""
    if same_workspace(connection):
        return mention(connection.partner_user_id)
    return connection.partner_label or "the partner"


def admin_for_partner(connection: Connection, user_id: str | None = None) -> str:
    """An admin (default: the initiator), in the DMs the partner reads."""
    user_id = user_id or connection.initiator_user_id
    if same_workspace(connection):
        return mention(user_id)
    if user_id == connection.initiator_user_id and connection.initiator_label:
        return connection.initiator_label
    return "an Exalate admin on the other side"
