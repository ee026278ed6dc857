"""`/exalate export [days]` end to end over HTTP: after a real wizard and a partner's decline,
the admin's CSV comes to their DM through the emulator's upload (files.getUploadURLExternal,
the upload URL, files.completeUploadExternal); read back with `csv`, it holds the exact rows,
no code, and formula-looking cells neutralised. A non-admin is refused, a bad `days` said so."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from bot.commands.texts import help_text
from bot.export import texts
from bot.export.rows import HEADER
from bot.security import hash_code
from storage.models import Outbox
from tests.harness import MONDAY, WIZARD, World, db_rows, eventually

DESCRIPTION = '=HYPERLINK("http://evil.example","click")'
NOTE = "@SUM(1+1) please accept"
REASON = "-2+3 we use another tool"
UPLOADS = ("files.getUploadURLExternal", "files.completeUploadExternal")


async def export(world: World, text: str, user: str = "UADMIN") -> tuple[str, str | None]:
    """The command's ack, and what came after it (None: nothing did)."""
    said = len(world.slack.responses)
    response = await world.sender.command(f"export {text}".strip(), user_id=user)
    assert response.status == 200
    body = response.json
    assert body["response_type"] == "ephemeral"
    if not body["text"].startswith(":hourglass"):
        return body["text"], None
    await eventually(lambda: len(world.slack.responses) > said)
    [later] = world.slack.responses[said:]
    assert later["response_type"] == "ephemeral"
    return body["text"], later["text"]


async def declined_connection(world: World) -> str:
    """The wizard with a formula for a description and a note, then the partner declines with
    a formula for a reason; returns the code they were sent."""
    pages = list(WIZARD)
    pages[2] = {"remote_short_name": "partnerco", "description": DESCRIPTION}
    pages[4] = {"partner_user_id": "UPARTNER", "notice_channel": "CNOTICE", "note": NOTE}
    code = await world.initiate(*pages)
    world.clock.advance(timedelta(hours=2))
    await world.click("partner_decline", world.dms("UPARTNER")[0], "UPARTNER")
    view = world.slack.calls_to("views.open")[-1].response["view"]
    await world.sender.submit_view(view["id"], {"reason": REASON}, user_id="UPARTNER")
    await eventually(lambda: len(world.dms("UADMIN")) == 1)

    async def all_sent() -> bool:  # and recorded, with their audit rows
        return all(row.sent_at is not None for row in await db_rows(world.bot, Outbox))

    await eventually(all_sent)
    return code


def read_back(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


async def test_the_admins_export_in_their_dm_no_code_formulas_neutralised(world: World) -> None:
    code = await declined_connection(world)
    world.clock.advance(timedelta(days=1))
    ack, then = await export(world, "30")
    assert ack == texts.building(30)
    assert then == ":page_facing_up: The export is in our DM: 9 audit events of the last 30 days."

    [shared] = world.slack.files.completed
    assert shared.channel == world.slack._ims["UADMIN"]
    assert shared.filename == "exalate-export-2026-03-03.csv"
    assert shared.title == "Exalate connections and audit trail, last 30 days"
    assert shared.initial_comment == (
        "Exalate export: 9 audit events of this workspace's connections, 2026-02-01 11:00 to "
        "2026-03-03 11:00 UTC. No invitation code is in it; a cell a spreadsheet would read "
        "as a formula starts with an apostrophe."
    )
    data = shared.data()
    assert len(data) == shared.length
    [header, *rows] = read_back(data)
    assert (
        header
        == list(HEADER)
        == [
            "connection",
            "description",
            "mode",
            "destination",
            "destination URL",
            "state now",
            "partner",
            "invitation note",
            "who",
            "what",
            "when (UTC)",
            "from",
            "to",
            "detail",
        ]
    )
    connection = [
        "acme_to_partnerco",
        "'" + DESCRIPTION,
        "script",
        "private",
        "",
        "DECLINED",
        "Pat Partner",
    ]
    note = "'" + NOTE  # the invitation's, on the rows about it
    nine, eleven = "2026-03-02T09:00:00Z", "2026-03-02T11:00:00Z"
    expected = [
        [note, "UADMIN", "initiated", nine, "", "PENDING", "invited UPARTNER"],
        [note, "system", "invitation_dm_sent", nine, "", "", "to UPARTNER"],
        ["", "system", "card_sent", nine, "", "", "to CNOTICE"],
        ["", "system", "notice_sent", nine, "", "", "to CNOTICE"],
        [note, "UPARTNER", "declined", eleven, "PENDING", "DECLINED", "'" + REASON],
        [note, "system", "dm_edit_sent", eleven, "", "", "to UPARTNER"],
        ["", "system", "dm_sent", eleven, "", "", "to UADMIN"],
        ["", "system", "card_edit_sent", eleven, "", "", "to CNOTICE"],
        ["", "system", "notice_sent", eleven, "", "", "to CNOTICE"],
    ]
    # in the order written: the courier's sends of one moment may land in either order
    assert sorted(rows) == sorted(connection + r for r in expected)
    assert [r[8:10] for r in rows[:1]] == [["UADMIN", "initiated"]]
    assert [r[10] for r in rows] == [nine] * 4 + [eleven] * 5
    assert rows[4][8:10] == ["UPARTNER", "declined"]
    text = data.decode("utf-8-sig")
    assert code not in text
    assert code.removeprefix("EXA1-") not in text
    assert hash_code(code) not in text
    # Slack's three steps, in order, the length given up front
    [url, done] = [c for c in world.slack.calls if c.method in UPLOADS]
    assert (url.method, url.params["filename"], int(url.params["length"])) == (
        "files.getUploadURLExternal",
        "exalate-export-2026-03-03.csv",
        len(data),
    )
    assert done.params["files"] == [{"id": shared.file_id, "title": shared.title}]
    assert done.params["channel_id"] == shared.channel


async def test_the_days_window_and_nothing_to_export(world: World) -> None:
    await declined_connection(world)
    world.clock.set(MONDAY + timedelta(days=40))
    assert await export(world, "39") == (texts.building(39), texts.nothing(39))
    assert world.slack.files.completed == []
    assert [c for c in world.slack.calls if c.method in UPLOADS] == []
    ack, then = await export(world, "")  # the default: 90 days
    assert (ack, then) == (texts.building(90), texts.done(9, 90))


async def test_a_non_admin_is_refused_and_a_bad_days_said_so(world: World) -> None:
    await declined_connection(world)
    refused, _ = await export(world, "30", user="UOTHER")
    assert refused == (
        ":lock: Only Exalate admins can export connections. Ask one of them: "
        f"{world.bot.services.permissions.who_may_initiate()}."
    )
    for bad in ("soon", "0", "-5", "3651", "30 days"):
        assert await export(world, bad) == (texts.BAD_DAYS, None), bad
    assert [c for c in world.slack.calls if c.method in UPLOADS] == []
    assert world.slack.files.completed == []
    assert "`/exalate export [days]`" in help_text("x")
    assert f"last {texts.DEFAULT_DAYS} days" in help_text("x")


async def test_slack_refusing_the_upload_is_said_plainly(world: World) -> None:
    await declined_connection(world)
    world.slack.fail_next("files.completeUploadExternal", error="internal_error")
    assert await export(world, "30") == (texts.building(30), texts.upload_failed("internal_error"))
    assert world.slack.files.completed == []
    # a workspace that installed the app before the export: no files:write yet
    world.slack.fail_next("files.getUploadURLExternal", error="missing_scope")
    _, refused = await export(world, "30")
    assert refused == (
        ":warning: Slack refused the export's file: the app lacks the `files:write` "
        "permission, added with `/exalate export`. A workspace admin reinstalls the app "
        "(or approves its new permissions) to grant it; nothing was shared."
    )
    again = await export(world, "30")  # once Slack takes it again
    assert again == (texts.building(30), texts.done(9, 30))
    assert len(world.slack.files.completed) == 1
