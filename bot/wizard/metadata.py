"""A wizard view's private_metadata, as a typed model: which step the view shows, whose
wizard it is, and the answers so far.

Slack hands the metadata back with the view's next submission, so moving a step needs no
database (and survives restarts, on any replica). Answers too long for Slack's 3,000
characters are "spilled": they wait in the draft table, keyed by the view's external_id (its
`view_key`), and the metadata carries no answers. What comes back is untrusted: `decode`
gives None for anything malformed or forged, and the flow answers "no longer open".

Built from checked parts only: the team and user are ids of Slack's shape (bot/slack/
reading.py; a payload with any other was refused at the edge), so a spilled metadata is a
few dozen characters and `encode` never hands Slack more than its 3,000.

The wire format is today's and yesterday's: `{"step":…,"team":…,"user":…,"answers":{…}}`,
without "answers" when spilled, and `{"step": "result"}` / `{"step": "message"}` for the
last views.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from bot.slack.blocks import METADATA_MAX
from bot.slack.reading import TeamId, UserId
from bot.wizard.rules import Answers, Step

KEY_RE = re.compile(r"[0-9a-f]{32}")  # uuid4().hex, from ConnectWizard.open()

# the wizard's views that are not steps: nothing to submit on them
ViewKind = Step | Literal["result", "message"]


class WizardMetadata(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    step: ViewKind
    team: TeamId | None = None
    user: UserId | None = None
    answers: dict[str, Any] | None = None  # None: spilled to the draft table (or none yet)

    @classmethod
    def decode(cls, text: object) -> WizardMetadata | None:
        """The metadata Slack handed back; None if it is not one the wizard wrote."""
        if not isinstance(text, str):
            return None
        try:
            return cls.model_validate_json(text, strict=True)
        except (ValidationError, ValueError, UnicodeError):  # ValueError: a lone surrogate
            return None

    @classmethod
    def of_view(cls, view: dict[str, Any]) -> WizardMetadata | None:
        return cls.decode(view.get("private_metadata"))

    def encode(self) -> str | None:
        """The text for the view, or None when it would pass Slack's 3,000 characters (long
        answers): the caller then keeps the answers in the draft table and sends `spilled()`."""
        text = json.dumps(
            self.model_dump(mode="json", exclude_none=True),
            separators=(",", ":"),  # ASCII: what Slack counts is what we count
        )
        return text if len(text) <= METADATA_MAX else None

    def spilled(self) -> WizardMetadata:
        """The same view's metadata without its answers (they are in the draft table)."""
        return self.model_copy(update={"answers": None})

    @property
    def wizard_step(self) -> Step | None:
        """The step this view asks, or None for the result and message views."""
        return self.step if isinstance(self.step, Step) else None

    def carried_answers(self, *, team_id: str, user_id: str) -> Answers | None:
        """The answers it carries, if they are this user's (a copy); None if not."""
        if self.answers is None or (self.team, self.user) != (team_id, user_id):
            return None
        return dict(self.answers)


def view_key(view: dict[str, Any]) -> str:
    """The wizard's key (its view's external_id), or "" for one the bot didn't make."""
    key = view.get("external_id")
    return key if isinstance(key, str) and KEY_RE.fullmatch(key) else ""
