"""`Invitations`: every action on an invitation in one object, for the handlers and the
scheduler (`Invitations(services).accept(...)`); each concern is its own class."""

from __future__ import annotations

from bot.invitations.admin import AdminActions
from bot.invitations.partner import PartnerActions
from bot.invitations.status import StatusPoll
from bot.invitations.sweep import Sweep


class Invitations(Sweep, PartnerActions, AdminActions, StatusPoll):
    """The sweep's expiry and reminders, the partner's and the admin's actions, and what the
    node reports. Its `courier` is the process's one (services.courier)."""
