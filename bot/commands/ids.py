"""The commands' ids: the values Slack sends back (old messages keep them, so they never
change)."""

from __future__ import annotations

from enum import StrEnum


class CommandId(StrEnum):
    LIST_PAGE_ACTION = "list_page"  # a prefix: list_page_older, list_page_newer
    CANCEL_CONFIRM_ACTION = "cancel_confirm"
    CANCEL_KEEP_ACTION = "cancel_keep"
    LIST_PAGES_BLOCK = "list_pages"
    CANCEL_BLOCK = "cancel"
