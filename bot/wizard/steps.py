"""The wizard's steps as ONE table: per step its title, the fields it asks, its view, its
pure validation (what Back keeps), its checks on submission (which may ask the node, the
database or Slack), Initiate's last look at its stored answers, and when it is shown.

The flow looks a step up here; adding a step means adding a row to `STEPS`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bot.backend.base import Project
from bot.services import Services
from bot.slack.text import check_text
from bot.wizard import checks, review, rules
from bot.wizard import views as v
from bot.wizard.checks import Asking, Values
from bot.wizard.ids import WizardId as Id
from bot.wizard.rules import Answers, Errors, Step

View = dict[str, Any]
Check = Callable[[Asking, Values, Answers], Awaitable[tuple[Answers, Errors]]]


def _always(answers: Answers) -> bool:
    return True


@dataclass(frozen=True)
class StepSpec:
    step: Step
    title: str
    view: Callable[[Answers, v.ViewInputs], View]
    fields: tuple[str, ...] = ()
    # the step's own rules on its typed values: what Back may keep
    validate: Callable[[Values, Answers], tuple[Answers, Errors]] | None = None
    # on submission: the rules and whatever must be asked; None: the submission initiates
    check: Check | None = None
    # Initiate's last look: whether the stored answers of this step are wrong
    wrong: Callable[[Answers], bool] | None = None
    shown: Callable[[Answers], bool] = _always
    # what its view needs from the node, fetched before it is built
    load: Callable[[Services], Awaitable[dict[str, Any]]] | None = None


def _mode_wrong(answers: Answers) -> bool:
    if rules.validate_mode(answers, answers)[1]:
        return True
    # Basic mode asks no connection information: its description is the mode step's
    return answers.get("mode") == "basic" and bool(check_text(answers.get("description"))[1])


def _project_wrong(answers: Answers) -> bool:
    key = answers.get("project_key")
    return not key or bool(check_text(key, limit=255)[1])


def _access_wrong(answers: Answers) -> bool:
    return bool(rules.validate_access(answers)[1])


def _partner_wrong(answers: Answers) -> bool:
    return bool(
        check_text(answers.get("note"))[1] or rules.check_email(answers.get("partner_email"))[1]
    )


STEPS: tuple[StepSpec, ...] = (
    StepSpec(
        Step.DESTINATION,
        "Destination",
        v.build_destination_view,
        fields=(Id.DESTINATION, Id.DESTINATION_URL),
        validate=lambda values, answers: rules.validate_destination(values),
        check=checks.check_destination,
        wrong=lambda answers: bool(rules.validate_destination(answers)[1]),
    ),
    StepSpec(
        Step.MODE,
        "Connection mode",
        v.build_mode_view,
        fields=(Id.MODE,),
        validate=rules.validate_mode,
        check=checks.check_mode,
        wrong=_mode_wrong,
    ),
    StepSpec(
        Step.INFO,
        "Connection information",
        v.build_info_view,
        fields=(Id.LOCAL_SHORT_NAME, Id.REMOTE_SHORT_NAME, Id.CONNECTION_NAME, Id.DESCRIPTION),
        validate=lambda values, answers: rules.validate_info(values),
        check=checks.check_info,
        wrong=lambda answers: bool(rules.validate_info(answers)[1]),
        shown=lambda answers: answers.get("mode") != "basic",
    ),
    StepSpec(
        Step.PROJECT,
        "Project for incoming sync",
        v.build_project_view,
        fields=(Id.PROJECT,),
        validate=lambda values, answers: rules.validate_project(values, None),
        check=checks.check_project,
        wrong=_project_wrong,
        load=checks.project_inputs,
    ),
    StepSpec(
        Step.ACCESS,
        "Admin access",
        v.build_access_view,
        fields=(Id.ADMIN_ACCESS,),
        validate=lambda values, answers: rules.validate_access(values),
        check=checks.check_access,
        wrong=_access_wrong,
        shown=rules.asks_admin_access,
    ),
    StepSpec(
        Step.PARTNER,
        "Partner and notices",
        v.build_partner_view,
        fields=(
            Id.PARTNER_USER,
            Id.PARTNER_EMAIL,
            Id.PARTNER_HOW,
            Id.PARTNER_ZONE,
            Id.NOTICE_CHANNEL,
            Id.NOTE,
        ),
        validate=lambda values, answers: rules.validate_partner(values),
        check=checks.check_partner,
        wrong=_partner_wrong,
        shown=rules.sends_code,
        load=checks.partner_inputs,
    ),
    StepSpec(
        Step.NOTICES,
        "Notices",
        v.build_notices_view,
        fields=(Id.NOTICE_CHANNEL,),
        validate=lambda values, answers: rules.validate_notices(values),
        check=checks.check_notices,
        shown=lambda answers: not rules.sends_code(answers),
    ),
    StepSpec(Step.REVIEW, "Review", review.build_review_view, load=checks.review_inputs),
)
SPECS = {spec.step: spec for spec in STEPS}
assert list(SPECS) == list(Step), "every step has one row, in the order of Step"


# --- the order, by answers -----------------------------------------------------------


def steps_for(answers: Answers) -> list[Step]:
    """The steps shown for these answers, in order: Basic mode skips connection info and,
    with a URL, asks about admin access; without a code for a partner, the partner step is
    only the notice channel."""
    return [spec.step for spec in STEPS if spec.shown(answers)]


def next_step(step: Step, answers: Answers) -> Step:
    steps = steps_for(answers)
    return steps[min(steps.index(step) + 1, len(steps) - 1)]


def previous_step(step: Step, answers: Answers) -> Step:
    steps = steps_for(answers)
    if step not in steps:  # e.g. INFO after switching to Basic: the last shown step before it
        before = [s for s in list(Step)[: list(Step).index(step)] if s in steps]
        return before[-1] if before else steps[0]
    return steps[max(steps.index(step) - 1, 0)]


def step_number(step: Step, answers: Answers) -> tuple[int, int]:
    steps = steps_for(answers)
    return (steps.index(step) + 1 if step in steps else 0), len(steps)


def heading(step: Step, answers: Answers) -> str:
    number, total = step_number(step, answers)
    return f"Step {number} of {total} · *{SPECS[step].title}*"


# --- views ---------------------------------------------------------------------------


def build_step_view(
    step: Step,
    answers: Answers,
    *,
    local_instance: str,
    projects: list[Project] | None = None,
    total_projects: int = 0,
    default_channel: str | None = None,
    console_url: str | None = None,
    error: str | None = None,
    email_on: bool = False,
    approvals: bool = False,
) -> View:
    inputs = v.ViewInputs(
        heading=heading(step, answers),
        local_instance=local_instance,
        projects=projects or [],
        total_projects=total_projects,
        default_channel=default_channel,
        console_url=console_url,
        error=error,
        email_on=email_on,
        approvals=approvals,
    )
    return SPECS[step].view(answers, inputs)


def build_review_view(
    answers: Answers,
    *,
    error: str | None = None,
    console_url: str | None = None,
    approvals: bool = False,
) -> View:
    return build_step_view(
        Step.REVIEW,
        answers,
        local_instance="",
        error=error,
        console_url=console_url,
        approvals=approvals,
    )


# --- answers -------------------------------------------------------------------------


def kept_on_back(step: Step, values: Values, answers: Answers) -> Answers:
    """What Back keeps of a step's typed values: only this step's fields, only those its
    validator accepts (a draft never holds what Initiate would refuse)."""
    spec = SPECS[step]
    if spec.validate is None:
        return {}
    typed = {k: value for k, value in values.items() if k in spec.fields}
    update, errors = spec.validate(typed, answers)
    return {k: value for k, value in update.items() if k not in errors and k in spec.fields}


def first_invalid_step(answers: Answers) -> Step | None:
    """Initiate checks every stored answer once more: the first shown step that fails."""
    for spec in STEPS:
        if spec.wrong is not None and spec.shown(answers) and spec.wrong(answers):
            return spec.step
    return None


async def check_step(
    step: Step, ask: Asking, values: Values, answers: Answers
) -> tuple[Answers, Errors]:
    check = SPECS[step].check
    assert check is not None, f"submitting {step} initiates"
    return await check(ask, values, answers)


def initiates(step: Step) -> bool:
    """Whether submitting this step initiates the connection (the review)."""
    return SPECS[step].check is None
