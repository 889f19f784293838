"""The hotlist CSV file: its columns and how a cell typed in a spreadsheet is read.

Hotlist managers keep these files in spreadsheets, so the import reads what people
type there (a date, a time in Pakistan time, ``Stolen``), and reads back the export's
own file: its read-only columns are ignored, and cells the export guarded against
formula injection get their value back.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Any

from pydantic import ValidationError

from safecity.core.clock import PKT, as_utc
from safecity.events.models import HOTLIST_CATEGORIES
from safecity.events.schemas import HotlistEntryCreate

CSV_COLUMNS = (
    "plate",
    "category",
    "reason",
    "source_agency",
    "priority",
    "expires_at",
    "owner",
)
REQUIRED_COLUMNS = frozenset({"plate", "category", "reason", "source_agency"})
# Written by the export and accepted on import, where they are not taken as input:
# the platform sets ids and creation stamps, and ``active`` only decides whether a row
# is imported at all (see ``parse_active``).
READ_ONLY_COLUMNS = ("id", "active", "created_by", "created_at")
EXPORT_COLUMNS = ("id", *CSV_COLUMNS, "active", "created_by", "created_at")

EXPIRY_FORMATS = (
    "a date, 2027-01-31 or 31-01-2027 (the entry stays valid through that day, Pakistan "
    "time); a date and time, 2027-01-31 10:00 or 31-01-2027 10:00 (Pakistan time); or a "
    "time with its offset, 2027-01-31T10:00+05:00 or 2027-01-31T05:00Z (kept as given)"
)

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DAY_FIRST = re.compile(r"(\d{1,2})-(\d{1,2})-(\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?")
_TRUE = frozenset({"yes", "y", "true", "1"})
_FALSE = frozenset({"no", "n", "false", "0"})


def _end_of_day_pkt(day: date) -> datetime:
    """'Expires 31-01-2027' means valid through that day: it stops matching at midnight
    PKT that ends it (an entry matches while the time is before ``expires_at``)."""
    return as_utc(datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=PKT))


def parse_expiry(text: str) -> datetime:
    """An expiry cell as a UTC time; raises ValueError naming the accepted formats."""
    value = text.strip()
    if "/" in value:
        # 05/06/2027 is 5 June in Pakistan and 6 May in a US-set spreadsheet: never guess.
        raise ValueError(
            f"{value!r}: a date with '/' could be day or month first; use {EXPIRY_FORMATS}"
        )
    try:
        if _ISO_DATE.fullmatch(value):
            return _end_of_day_pkt(date.fromisoformat(value))
        day_first = _DAY_FIRST.fullmatch(value)
        if day_first:
            day, month, year, hour, minute, second = day_first.groups()
            when = date(int(year), int(month), int(day))
            if hour is None:
                return _end_of_day_pkt(when)
            clock = time(int(hour), int(minute), int(second or 0))
            return as_utc(datetime.combine(when, clock, tzinfo=PKT))
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a date or time we read: use {EXPIRY_FORMATS}") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=PKT)
    return as_utc(parsed)


def normalise_category(text: str) -> str:
    """``Stolen``, ``WANTED`` or ``Expired registration`` as the list's code; other text is
    returned as typed so that validation names it with the known codes."""
    code = re.sub(r"[\s-]+", "_", text.strip().lower())
    return code if code in HOTLIST_CATEGORIES else text


def parse_active(text: str) -> bool:
    """The export's ``active`` cell (yes or no; true/false and 1/0 are read too)."""
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"{text!r}: use yes or no")


def entry_from_row(
    values: dict[str, str],
) -> tuple[HotlistEntryCreate | None, list[tuple[str | None, str]]]:
    """The entry a row asks for, or None and every (column, problem) of the row."""
    row: dict[str, Any] = {k: values[k] for k in CSV_COLUMNS if values.get(k)}
    problems: list[tuple[str | None, str]] = []
    if "category" in row:
        row["category"] = normalise_category(row["category"])
    if "expires_at" in row:
        try:
            row["expires_at"] = parse_expiry(row["expires_at"])
        except ValueError as exc:
            problems.append(("expires_at", str(exc)))
            del row["expires_at"]  # the other columns are still checked and reported
    try:
        data = HotlistEntryCreate.model_validate(row)
    except ValidationError as exc:
        for error in exc.errors(include_url=False, include_input=False):
            field = str(error["loc"][0]) if error["loc"] else None
            problems.append((field, error["msg"].removeprefix("Value error, ")))
        return None, problems
    return (None, problems) if problems else (data, [])
