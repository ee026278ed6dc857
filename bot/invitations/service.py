"""`Invitations`: every action on an invitation in one object, for the handlers and the
scheduler (`Invitations(services).accept(...)`); each concern is its own class."""

from __future__ import annotations

from bot.invitations.admin import AdminActions
from bot.invitations.partner import PartnerActions
from bot.invitations.status import StatusPoll
from bot.invitations.sweep import Sweep
from bot.invitations.without_code import WithoutCode


class Invitations(Sweep, PartnerActions, AdminActions, StatusPoll, WithoutCode):
    """The sweep's expiry and reminders, the partner's and the admin's actions, what the node
    reports, and connections without a code. Its `courier` is the process's one
    (services.courier)."""
