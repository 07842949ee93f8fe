"""Tables of items, one CSV row each (generators, applicants).

A row becomes a mapping of its non-empty cells (an empty cell means the field's
default); the ``source``, ``basis`` and ``notes`` cells go under ``provenance``. The
scenario layer validates the mappings and maps errors back to the returned lines.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from megawatt.errors import input_error
from megawatt.io.common import read_csv_rows

PROVENANCE_COLUMNS = ("source", "basis", "notes")


def read_table(path: Path, allowed: Sequence[str]) -> list[tuple[int, dict[str, Any]]]:
    """[(line number, item)] from a CSV whose columns must all be in ``allowed``."""
    columns, rows = read_csv_rows(path)
    for col in columns:
        if col not in allowed:
            raise input_error(path, "line 1", f"unknown column; allowed: {', '.join(allowed)}", col)
    items = []
    for line_no, row in rows:
        item: dict[str, Any] = {}
        prov: dict[str, str] = {}
        for col, cell in row.items():
            if cell == "":
                continue  # empty cell: the field's default
            if col in PROVENANCE_COLUMNS:
                prov[col] = cell
            else:
                item[col] = cell
        if prov:
            item["provenance"] = prov
        items.append((line_no, item))
    return items
