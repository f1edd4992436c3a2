"""How the commands write times, ages, sizes and counts for a reader."""

from __future__ import annotations

from datetime import datetime


def when(moment: datetime) -> str:
    """A moment in the reader's time zone, to the minute."""
    return f"{moment.astimezone():%Y-%m-%d %H:%M}"


def age(seconds: float) -> str:
    for unit, size in (("day", 86_400), ("hour", 3_600), ("minute", 60)):
        if seconds >= size:
            return plural(int(seconds // size), unit)
    return plural(max(int(seconds), 0), "second")


def size(count: int) -> str:
    """A file size in bytes, in the largest unit that keeps it above one."""
    for unit, factor in (("GB", 1 << 30), ("MB", 1 << 20), ("kB", 1 << 10)):
        if count >= factor:
            return f"{count / factor:.1f} {unit}"
    return f"{count} bytes"


def plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"
