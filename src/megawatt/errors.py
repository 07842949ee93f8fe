"""Errors a user can act on.

Every problem with user input becomes an :class:`InputError` that names the file,
the place in it (a field path, or a CSV line and column), the offending value and
what is allowed. The CLI prints its one-line message and exits with status 2; the
library raises it so that notebook users get the same message.
"""

from __future__ import annotations

import reprlib
from dataclasses import dataclass
from pathlib import Path


@dataclass
class InputError(ValueError):
    """Bad user input, located precisely.

    A :class:`ValueError`, so that code catching ``ValueError`` from a reader keeps
    working; its message is always ``file: where: problem (got value)``.

    Parameters
    ----------
    file
        The file the problem is in (``None`` for objects built in Python).
    where
        Field path (``program.cap_mw``) or CSV position (``line 7, column p_nom_mw``).
    problem
        What is wrong and what is allowed (``must be >= 0``).
    value
        The offending value as the user wrote it, if there is one.
    """

    file: Path | str | None
    where: str
    problem: str
    value: object = None
    has_value: bool = False

    def __post_init__(self) -> None:
        super().__init__(self.message)

    @property
    def message(self) -> str:
        parts = []
        if self.file is not None:
            parts.append(str(self.file))
        if self.where:
            parts.append(self.where)
        head = ": ".join(parts) if parts else "input"
        value = f" (got {_show(self.value)})" if self.has_value else ""
        return f"{head}: {self.problem}{value}"

    def __str__(self) -> str:
        return self.message


def input_error(file: Path | str | None, where: str, problem: str, *value: object) -> InputError:
    """Build an :class:`InputError`; pass the offending value as a fourth argument.

    The convention every reader follows: ``file`` the path as given, ``where`` the
    place (``line 7, column p_nom_mw`` for a cell, ``line 1`` for the header, a field
    path for YAML, ``""`` for the whole file), ``problem`` what is wrong stated as
    what is allowed (``must be >= 0``, ``must be a whole hour 1-24 (hour ending)``),
    and the offending value as the user wrote it.
    """
    if value:
        return InputError(file, where, problem, value[0], True)
    return InputError(file, where, problem)


class InfeasibleError(Exception):
    """The scenario has no solution; the message names the constraint family and hours."""


def at(line: int, column: str | None = None) -> str:
    """The ``where`` of a CSV position: ``line 7`` or ``line 7, column p_nom_mw``."""
    return f"line {line}, column {column}" if column else f"line {line}"


#: Longest preview of an offending value in a message; longer ones end in "…".
PREVIEW_CHARS = 80

_REPR = reprlib.Repr()
_REPR.maxlevel = 3
_REPR.maxstring = PREVIEW_CHARS
_REPR.maxother = PREVIEW_CHARS
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = 6
_REPR.maxlong = 40


def _show(value: object) -> str:
    """A bounded preview of ``value``: never formats more than a few hundred characters
    of it (a value expanded from YAML aliases or a huge cell cannot blow up a message)."""
    if isinstance(value, str):
        if len(value) > PREVIEW_CHARS:
            return repr(value[:PREVIEW_CHARS]) + "…"
        text = repr(value)
    elif isinstance(value, (list, tuple, dict, set, frozenset)):
        text = _REPR.repr(value)
    elif isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        text = f"a whole number of {value.bit_length()} bits"
    else:
        try:
            text = str(value)
        except Exception:
            text = f"a {type(value).__name__}"
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"
