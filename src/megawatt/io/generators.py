"""The generator table: ``generators.csv``, one generator (or fleet) a row."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from megawatt.io.tables import read_table


def read_generators(path: Path, allowed: Sequence[str]) -> list[tuple[int, dict[str, Any]]]:
    """[(line number, generator mapping)]; ``allowed`` the columns the model knows."""
    return read_table(path, allowed)
