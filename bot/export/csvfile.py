"""The export's rows, page after page, into a binary file: UTF-8 with a byte-order mark (so
Excel reads the names right), every cell quoted. One page in memory at a time."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Sequence
from typing import IO, Any

from bot.export.rows import HEADER, cells


async def write_csv(pages: AsyncIterator[Sequence[Any]], out: IO[bytes]) -> int:
    """Write the header and every row; returns the rows written (the header aside). `out`
    stays open, at its end."""
    text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="")  # type: ignore[type-var]
    writer = csv.writer(text, quoting=csv.QUOTE_ALL)
    writer.writerow(HEADER)
    written = 0
    async for page in pages:
        writer.writerows(cells(row) for row in page)
        written += len(page)
    text.flush()
    text.detach()
    return written
