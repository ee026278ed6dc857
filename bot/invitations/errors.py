"""Why an action on an invitation was not done."""

from __future__ import annotations


class Refused(Exception):
    """The action can't be done; the message says why, for the person who asked."""


class Unavailable(Refused):
    """Refused for now (the node didn't answer): the same request may work later."""
