"""Where a scenario was read from: to resolve its file names and to locate errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from megawatt.errors import InputError
from megawatt.io import resolve
from megawatt.scenario.model import Scenario, field_path


@dataclass
class RowOrigin:
    """Where a list item of the scenario was read from."""

    file: Path
    line: int | None = None  # CSV line (header = line 1); None for YAML items


@dataclass
class Origin:
    """Where a scenario was read from, to resolve relative paths and locate errors."""

    path: Path | None
    base_dir: Path
    rows: dict[tuple[str, int], RowOrigin] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return str(self.path) if self.path else "scenario"

    def resolve(self, name: str | Path) -> Path:
        """A file name of the scenario as a path (relative to the scenario's directory)."""
        return resolve(self.base_dir, name)


def origin_of(scenario: Scenario) -> Origin:
    """The origin a scenario was loaded from (the working directory if built in Python)."""
    origin = getattr(scenario, "_origin", None)
    return origin if origin is not None else Origin(path=None, base_dir=Path.cwd())


def locate(
    origin: Origin, loc: tuple[int | str, ...], problem: str, value: Any, has_value: bool
) -> InputError:
    """An InputError at field ``loc``, in the CSV line or YAML file the item came from."""
    if len(loc) >= 2 and isinstance(loc[1], int) and (str(loc[0]), loc[1]) in origin.rows:
        row = origin.rows[(str(loc[0]), loc[1])]
        rest = [p for p in loc[2:] if p != "provenance"]
        if row.line is not None:
            column = str(rest[0]) if rest else ""
            where = f"line {row.line}" + (f", column {column}" if column else "")
        else:
            where = field_path(loc)
        return InputError(row.file, where, problem, value, has_value)
    return InputError(origin.label, field_path(loc), problem, value, has_value)
