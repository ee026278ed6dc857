"""The Home tab's ids: the values Slack sends back (old views keep them, so they never change)."""

from __future__ import annotations

from enum import StrEnum


class HomeId(StrEnum):
    CONNECT_ACTION = "home_connect"  # New connection: opens the wizard
    REMIND_ACTION = "home_remind"  # Remind now, its value the connection's id
    ADMIN_BLOCK = "home_admin"  # the actions block holding New connection
