"""Cheaper pickling for the dataclasses that cross the pipes to and from parse workers."""

from __future__ import annotations

import dataclasses
from operator import attrgetter
from typing import Any, TypeVar

T = TypeVar("T")


def by_fields(cls: type[T]) -> type[T]:
    """Pickle instances as their class and field values, read in one C call.

    A slotted dataclass pickles through ``__getstate__``/``__setstate__``, which look up
    ``dataclasses.fields()`` for every object, and every page's digest crosses the pipe.
    Here an object pickles as its class and a tuple of its field values, read by one
    ``attrgetter``: no lookup on either side. Every field must be an ``__init__`` parameter
    (checked here)."""
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    if not all(field.init for field in fields):
        raise TypeError(f"{cls.__name__}: every field must be an __init__ parameter")
    values = attrgetter(*(field.name for field in fields))

    def __reduce__(self: T) -> tuple[type[T], Any]:
        return cls, values(self)

    cls.__reduce__ = __reduce__  # type: ignore[method-assign,assignment]
    return cls
