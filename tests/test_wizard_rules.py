"""The wizard's pure rules: steps by answers, validators, derived names, views."""

from __future__ import annotations

import json

import pytest

from bot.backend.base import Project
from bot.slack.payloads import read_state
from bot.wizard import rules
from bot.wizard import steps as table
from bot.wizard.metadata import WizardMetadata, view_key
from bot.wizard.review import build_created_view, build_result_view
from bot.wizard.rules import Step
from bot.wizard.steps import build_step_view
from tests.specs import check_view

S = Step


@pytest.mark.parametrize(
    ("answers", "steps"),
    [  # design.md, "The wizard's steps, by answer"
        (
            {"destination": "private", "mode": "script"},
            [S.DESTINATION, S.MODE, S.INFO, S.PROJECT, S.PARTNER, S.REVIEW],
        ),
        (
            {"destination": "private", "mode": "basic"},
            [S.DESTINATION, S.MODE, S.PROJECT, S.PARTNER, S.REVIEW],
        ),
        (  # Visual makes no code: no partner, only the notice channel
            {"destination": "public", "mode": "visual"},
            [S.DESTINATION, S.MODE, S.INFO, S.PROJECT, S.NOTICES, S.REVIEW],
        ),
        (  # Basic with a URL asks about admin access; until answered, a partner is asked
            {"destination": "public", "mode": "basic"},
            [S.DESTINATION, S.MODE, S.PROJECT, S.ACCESS, S.PARTNER, S.REVIEW],
        ),
        (
            {"destination": "public", "mode": "basic", "admin_access": "no"},
            [S.DESTINATION, S.MODE, S.PROJECT, S.ACCESS, S.PARTNER, S.REVIEW],
        ),
        (  # admin access to the destination: the admin accepts there, no code
            {"destination": "public", "mode": "basic", "admin_access": "yes"},
            [S.DESTINATION, S.MODE, S.PROJECT, S.ACCESS, S.NOTICES, S.REVIEW],
        ),
        (  # without a URL the private side accepts a code: the question isn't asked
            {"destination": "private", "mode": "basic", "admin_access": "yes"},
            [S.DESTINATION, S.MODE, S.PROJECT, S.PARTNER, S.REVIEW],
        ),
        (
            {"destination": "public", "mode": "script", "admin_access": "yes"},
            [S.DESTINATION, S.MODE, S.INFO, S.PROJECT, S.PARTNER, S.REVIEW],
        ),
    ],
)
def test_steps_by_answers(answers: dict, steps: list[Step]) -> None:
    assert table.steps_for(answers) == steps
    walked = [Step.DESTINATION]
    while walked[-1] is not Step.REVIEW:
        walked.append(table.next_step(walked[-1], answers))
    assert walked == steps
    assert [table.previous_step(s, answers) for s in steps[1:]] == steps[:-1]


def test_visual_is_never_offered_for_private() -> None:
    assert rules.modes_for("private") == ["basic", "script"]
    assert rules.modes_for("public") == ["basic", "visual", "script"]
    _, errors = rules.validate_mode({"mode": "visual"}, {"destination": "private"})
    assert "Visual" in errors["mode"]
    assert rules.validate_mode({"mode": "visual"}, {"destination": "public"}) == (
        {"mode": "visual"},
        {},
    )


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://partnerco.atlassian.net", True),
        ("http://jira.partner.example:8080/jira", True),
        ("ftp://partner.example", False),
        ("partner.atlassian.net", False),
        ("https://", False),
        ("https://localhost", False),
        ("https://exa mple.com", False),
        ("https://partner.example:99999", False),
        ("javascript:alert(1)", False),
        ("https://x.example/" + "a" * 2100, False),
        ("", False),
    ],
)
def test_destination_url(url: str, ok: bool) -> None:
    answers, errors = rules.validate_destination({"destination": "public", "destination_url": url})
    assert (not errors) is ok, errors
    if ok:
        assert answers == {"destination": "public", "destination_url": url}


def test_private_destination_needs_no_url_and_drops_one() -> None:
    assert rules.validate_destination({"destination": "private", "destination_url": "x"}) == (
        {"destination": "private", "destination_url": None},
        {},
    )
    assert "destination" in rules.validate_destination({})[1]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "Enter"),
        ("   ", "Enter"),
        ("acme corp", "letters, digits"),
        ("acme!", "letters, digits"),
        ("a" * 41, "at most 40"),
        ("ácme", "letters, digits"),
    ],
)
def test_short_name_rules(value: str, message: str) -> None:
    _, errors = rules.validate_info({"local_short_name": value, "remote_short_name": "partnerco"})
    assert message in errors["local_short_name"]


def test_info_derives_the_connection_name_and_checks_a_typed_one() -> None:
    answers, errors = rules.validate_info(
        {"local_short_name": "acme", "remote_short_name": "partnerco", "description": " hi "}
    )
    assert errors == {}
    assert answers["connection_name"] == "acme_to_partnerco"
    assert answers["description"] == "hi"
    _, errors = rules.validate_info(
        {"local_short_name": "acme", "remote_short_name": "p", "connection_name": "a b"}
    )
    assert set(errors) == {"connection_name"}
    _, errors = rules.validate_info(
        {"local_short_name": "acme", "remote_short_name": "p", "description": "x" * 1001}
    )
    assert "1,000" in errors["description"]
    _, errors = rules.validate_info(
        {"local_short_name": "acme", "remote_short_name": "p", "description": "bell\x07"}
    )
    assert "control" in errors["description"]


def test_partner_step_rules() -> None:
    assert "partner_user_id" in rules.validate_partner({})[1]
    assert "partner_email" in rules.validate_partner({"partner_email": "not-an-address"})[1]
    answers, errors = rules.validate_partner(
        {"partner_email": "pat@partner.com", "note": "Welcome!", "notice_channel": "C1"}
    )
    assert errors == {}
    assert answers == {
        "partner_user_id": None,
        "partner_email": "pat@partner.com",
        "partner_how": "slack",
        "partner_zone": None,
        "notice_channel": "C1",
        "note": "Welcome!",
    }


def test_partner_step_by_e_mail_rules() -> None:
    """E-mail chosen needs an address; the zone is an IANA name; the address is read by
    email-validator (normalized, and refused with its reason)."""
    answers, errors = rules.validate_partner(
        {"partner_email": "Pat@Globex.COM", "partner_how": "email", "partner_zone": "Asia/Tokyo"}
    )
    assert errors == {}
    assert answers["partner_email"] == "Pat@globex.com"  # the domain lower-cased
    assert (answers["partner_how"], answers["partner_zone"]) == ("email", "Asia/Tokyo")
    _, errors = rules.validate_partner({"partner_how": "email", "partner_user_id": "U1"})
    assert errors == {
        "partner_email": "Enter the partner's e-mail address: the invitation goes there."
    }
    _, errors = rules.validate_partner({"partner_email": "pat@globex.com", "partner_zone": "Mars"})
    assert errors["partner_zone"].startswith("Enter a time zone by its IANA name")
    _, errors = rules.validate_partner({"partner_email": "pat@globex", "partner_how": "carrier"})
    assert errors["partner_how"] == "Choose how the invitation goes."
    assert "should have a period" in errors["partner_email"]
    _, errors = rules.validate_partner({"partner_email": "pat@globex.com\r\nBcc: x@evil.com"})
    assert errors["partner_email"] == "An e-mail address has no control characters."


def test_basic_mode_names_and_uniqueness() -> None:
    public = {"destination": "public", "destination_url": "https://www.partnerco.example/jira"}
    assert rules.basic_mode_names(public, local="acme", partner_hint="Pat")["connection_name"] == (
        "acme_to_partnerco"
    )
    private = {"destination": "private"}
    names = rules.basic_mode_names(private, local="acme", partner_hint="Partner Co")
    assert names["remote_short_name"] == "partner_co"
    assert rules.unique_name("acme_to_x", set()) == "acme_to_x"
    assert rules.unique_name("acme_to_x", {"ACME_to_x", "acme_to_x_2"}) == "acme_to_x_3"


@pytest.mark.parametrize(
    ("answers", "code"),
    [
        ({"destination": "private", "mode": "script"}, True),
        ({"destination": "public", "mode": "script"}, True),
        ({"destination": "public", "mode": "visual"}, False),
        ({"destination": "private", "mode": "basic"}, True),
        ({"destination": "public", "mode": "basic"}, True),
        ({"destination": "public", "mode": "basic", "admin_access": "no"}, True),
        ({"destination": "public", "mode": "basic", "admin_access": "yes"}, False),
        ({"destination": "private", "mode": "basic", "admin_access": "yes"}, True),
    ],
)
def test_which_modes_send_a_code(answers: dict, code: bool) -> None:
    assert rules.sends_code(answers) is code


def test_access_step_rules() -> None:
    for value in (None, "", "maybe", ["yes"]):
        assert "admin access" in rules.validate_access({"admin_access": value})[1]["admin_access"]
    assert rules.validate_access({"admin_access": "yes"}) == ({"admin_access": "yes"}, {})
    assert rules.validate_notices({"notice_channel": " C1 "}) == ({"notice_channel": "C1"}, {})
    assert rules.validate_notices({}) == ({"notice_channel": None}, {})


def test_review_without_a_code_needs_no_partner() -> None:
    visual = {
        "destination": "public",
        "destination_url": "https://partnerco.example",
        "mode": "visual",
        "connection_name": "a_to_b",
        "project_key": "SUP",
    }
    assert rules.missing_for_review(visual) == []
    basic = visual | {"mode": "basic"}
    assert rules.missing_for_review(basic) == [S.ACCESS, S.PARTNER]
    assert rules.missing_for_review(basic | {"admin_access": "yes"}) == []
    assert rules.missing_for_review(basic | {"admin_access": "no"}) == [S.PARTNER]
    unnamed = basic | {"admin_access": "yes", "connection_name": ""}
    assert rules.missing_for_review(unnamed) == [S.ACCESS]  # the names are derived there


def test_review_needs_every_step() -> None:
    assert rules.missing_for_review({}) == [S.DESTINATION, S.MODE, S.INFO, S.PROJECT, S.PARTNER]
    full = {
        "destination": "private",
        "mode": "script",
        "connection_name": "a_to_b",
        "project_key": "SUP",
        "partner_user_id": "U1",
    }
    assert rules.missing_for_review(full) == []


FULL = {
    "destination": "public",
    "destination_url": "https://partnerco.atlassian.net",
    "mode": "script",
    "local_short_name": "acme",
    "remote_short_name": "partnerco",
    "connection_name": "acme_to_partnerco",
    "description": "<!channel> *bold* & <@U123>",
    "project_key": "SUP",
    "project_name": "Support",
    "partner_user_id": "UPARTNER",
    "notice_channel": "CNOTICE",
    "note": "x" * 1000,
}


@pytest.mark.parametrize("step", list(Step))
@pytest.mark.parametrize("answers", [{}, FULL], ids=["empty", "full"])
def test_every_step_view_passes_slack_validation(step: Step, answers: dict) -> None:
    projects = [Project(key=f"P{i}", name=f"Project {i}" * 5) for i in range(100)]
    for total in (3, 100, 5000):
        view = build_step_view(
            step,
            answers,
            local_instance="acme",
            projects=projects[:total],
            total_projects=total,
            default_channel="CNOTICE",
        )
        assert check_view(view) == [], (step, total)
        assert len(view["title"]["text"]) <= 24


@pytest.mark.parametrize(
    "change",
    [
        {},
        {"mode": "visual"},
        {"mode": "basic", "admin_access": "yes"},
        {"mode": "basic", "admin_access": "no"},
        {"mode": "basic", "destination": "private", "destination_url": None},
    ],
    ids=["script", "visual", "basic-admin", "basic-partner", "basic-private"],
)
@pytest.mark.parametrize("console_url", [None, "https://exalate.acme.example"])
def test_review_says_whether_a_code_goes_to_a_partner(
    change: dict, console_url: str | None
) -> None:
    answers = FULL | change
    view = build_step_view(Step.REVIEW, answers, local_instance="acme", console_url=console_url)
    assert check_view(view) == []
    text = json.dumps(view)
    code = rules.sends_code(answers)
    assert ("you accept it on the destination yourself (no invitation code)" in text) is not code
    assert ("Note to the partner" in text) is code
    inputs = [b["block_id"] for b in view["blocks"] if b["type"] == "input"]
    assert inputs == (["code"] if console_url and code else [])  # a code is pasted only for one
    submit = view["submit"]["text"]
    if console_url:
        assert submit == ("Send to partner" if code else "I've created it")
        assert console_url in text and "Initiate connection" in text
        if answers["mode"] == "visual":
            assert "Verify admin access" in text
    else:
        assert submit == ("Initiate" if code else "Create")
    shown = "Admin access to the destination" in text
    assert shown is rules.asks_admin_access(answers)


@pytest.mark.parametrize("active", [False, True])
def test_created_view_has_no_code(active: bool) -> None:
    view = build_created_view(FULL | {"mode": "visual"}, finish="Accept it there.", active=active)
    assert check_view(view) == []
    text = json.dumps(view)
    assert ("*Active*" in text) is active and "EXA1-" not in text
    assert "submit" not in view


def test_mode_and_project_steps_say_basic_rules_are_fixed() -> None:
    mode = json.dumps(build_step_view(Step.MODE, {"destination": "public"}, local_instance="a"))
    assert "upgrade to Visual or Script" in mode and "Visual makes no code" in mode
    assert "later" not in mode
    basic = json.dumps(build_step_view(Step.PROJECT, {"mode": "basic"}, local_instance="a"))
    assert "rules are fixed" in basic and "upgrade the connection" in basic
    assert "change them later" not in basic
    script = json.dumps(build_step_view(Step.PROJECT, {"mode": "script"}, local_instance="a"))
    assert "each side edits its own outgoing and incoming rules" in script
    destination = json.dumps(build_step_view(Step.DESTINATION, {}, local_instance="a"))
    assert "The private side (the one without a URL) is the side that accepts" in destination


def test_project_picker_switches_to_type_ahead_beyond_100() -> None:
    projects = [Project(key=f"P{i}", name=f"P {i}") for i in range(100)]
    small = build_step_view(
        Step.PROJECT, {}, local_instance="a", projects=projects, total_projects=100
    )
    large = build_step_view(
        Step.PROJECT, {}, local_instance="a", projects=projects, total_projects=101
    )
    kinds = [
        b["element"]["type"] for v in (small, large) for b in v["blocks"] if b["type"] == "input"
    ]
    assert kinds == ["static_select", "external_select"]


def test_review_escapes_user_text() -> None:
    view = build_step_view(Step.REVIEW, FULL, local_instance="acme")
    text = str(view["blocks"])
    assert "<!channel>" not in text and "<@U123>" not in text
    assert "&lt;!channel&gt;" in text


def test_result_view_shows_the_code_to_the_admin() -> None:
    view = build_result_view(FULL, code="EXA1-abc")
    assert check_view(view) == []
    assert "```EXA1-abc```" in str(view["blocks"])
    assert "submit" not in view


def test_read_state_reads_each_element_type() -> None:
    values = {
        "destination": {
            "destination": {"type": "radio_buttons", "selected_option": {"value": "public"}}
        },
        "destination_url": {"destination_url": {"type": "url_text_input", "value": "https://a.b"}},
        "project_key": {
            "project_key": {"type": "external_select", "selected_option": {"value": "SUP"}}
        },
        "partner_user_id": {"partner_user_id": {"type": "users_select", "selected_user": "U1"}},
        "notice_channel": {
            "notice_channel": {"type": "conversations_select", "selected_conversation": "C1"}
        },
        "mode": {"mode": {"type": "radio_buttons", "selected_option": None}},
    }
    assert read_state(values) == {
        "destination": "public",
        "destination_url": "https://a.b",
        "project_key": "SUP",
        "partner_user_id": "U1",
        "notice_channel": "C1",
        "mode": None,
    }


# --- the private_metadata codec --------------------------------------------------------


def test_metadata_round_trip_in_todays_format() -> None:
    carried = WizardMetadata(step=Step.MODE, team="T1", user="U1", answers={"destination": None})
    text = carried.encode()
    assert text == '{"step":"mode","team":"T1","user":"U1","answers":{"destination":null}}'
    decoded = WizardMetadata.decode(text)
    assert decoded == carried and decoded.wizard_step is Step.MODE
    assert decoded.carried_answers(team_id="T1", user_id="U1") == {"destination": None}
    assert decoded.carried_answers(team_id="T1", user_id="UOTHER") is None
    assert decoded.carried_answers(team_id="TOTHER", user_id="U1") is None


def test_metadata_spills_what_passes_slacks_limit() -> None:
    carried = WizardMetadata(step=Step.INFO, team="T1", user="U1", answers={"note": "é" * 1000})
    assert carried.encode() is None  # escaped to ASCII: 6,000 characters as Slack counts them
    spilled = carried.spilled().encode()
    assert spilled == '{"step":"info","team":"T1","user":"U1"}'
    decoded = WizardMetadata.decode(spilled)
    assert decoded is not None and decoded.answers is None
    assert decoded.carried_answers(team_id="T1", user_id="U1") is None


@pytest.mark.parametrize(
    "text",
    [
        None,
        5,
        "",
        "not json",
        "null",
        "[]",
        "{}",
        '{"step": ["x"]}',
        '{"step": 5}',
        '{"step": "nowhere"}',
        '{"step": "mode", "team": 5}',
        '{"step": "mode", "answers": 1}',
        '{"step": "mode", "answers": {"x": "\\ud83d"}}',
    ],
)
def test_forged_metadata_decodes_to_none(text: object) -> None:
    assert WizardMetadata.decode(text) is None


def test_the_last_views_are_no_step() -> None:
    for kind in ("result", "message"):
        decoded = WizardMetadata.decode(f'{{"step": "{kind}"}}')
        assert decoded is not None and decoded.wizard_step is None


def test_view_key_is_the_bots_own() -> None:
    assert view_key({"external_id": "0123456789abcdef" * 2}) == "0123456789abcdef" * 2
    for forged in ("", "' OR 1=1 --", "x" * 10_000, ["x"], None, "A" * 32):
        assert view_key({"external_id": forged}) == ""


# --- the step table ----------------------------------------------------------------------


def test_the_table_has_one_row_a_step() -> None:
    assert [spec.step for spec in table.STEPS] == list(Step)
    assert [spec.step for spec in table.STEPS if spec.check is None] == [Step.REVIEW]
    for spec in table.STEPS:
        view = build_step_view(spec.step, {}, local_instance="acme", email_on=True)
        assert f"*{spec.title}*" in str(view["blocks"][0])
        asked = {b["block_id"] for b in view["blocks"] if b["type"] == "input"}
        assert asked == set(spec.fields), spec.step
    # without SMTP_URL the partner step asks nothing about e-mail
    view = build_step_view(Step.PARTNER, {}, local_instance="acme")
    asked = {b["block_id"] for b in view["blocks"] if b["type"] == "input"}
    assert asked == set(table.SPECS[Step.PARTNER].fields) - {"partner_how", "partner_zone"}


def test_back_keeps_only_the_steps_valid_fields() -> None:
    values = {"destination": "public", "destination_url": "not a url", "mode": "script"}
    assert table.kept_on_back(Step.DESTINATION, values, {}) == {"destination": "public"}
    assert table.kept_on_back(Step.REVIEW, values, {}) == {}


def test_first_invalid_step() -> None:
    assert table.first_invalid_step(FULL) is None
    assert table.first_invalid_step(FULL | {"destination": "x"}) is Step.DESTINATION
    assert table.first_invalid_step(FULL | {"local_short_name": "a b"}) is Step.INFO
    basic = FULL | {"mode": "basic", "admin_access": "no", "local_short_name": "a b"}
    # Basic asks no names
    assert table.first_invalid_step(basic) is None
    assert table.first_invalid_step(basic | {"description": "\x00"}) is Step.MODE
    assert table.first_invalid_step(FULL | {"project_key": ""}) is Step.PROJECT
    assert table.first_invalid_step(FULL | {"partner_email": "nope"}) is Step.PARTNER
    basic_public = FULL | {"mode": "basic"}
    assert table.first_invalid_step(basic_public) is Step.ACCESS
    assert table.first_invalid_step(basic_public | {"admin_access": "yes"}) is None
    # Visual asks no partner: a wrong partner answer left from before doesn't count
    assert table.first_invalid_step(FULL | {"mode": "visual", "partner_email": "nope"}) is None
    assert table.previous_step(Step.INFO, {"mode": "basic"}) is Step.MODE


def test_partner_domains() -> None:
    domains = ["globex.com", "initech.example"]
    assert rules.domain_allowed("pat@globex.com", domains)
    assert rules.domain_allowed("pat@EU.Globex.com", domains)  # a subdomain, any case
    assert not rules.domain_allowed("pat@notglobex.com", domains)  # not a suffix match
    assert not rules.domain_allowed("pat@globex.com.evil.example", domains)
    assert not rules.domain_allowed(None, domains) and not rules.domain_allowed("", domains)
    assert rules.domain_allowed(None, [])  # no list: anyone
