"""The applicant table: ``applicants.yaml`` (a list) or ``applicants.csv`` (a row each)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from megawatt.io.scenario_yaml import read_yaml_list
from megawatt.io.tables import read_table


def read_applicants(path: Path, allowed: Sequence[str]) -> list[tuple[int | None, Any]]:
    """[(line number, applicant)]: CSV rows with their line, YAML items with None.

    ``allowed`` lists the CSV columns the model knows; a YAML file holds a list, or a
    mapping with the list under ``applicants``.
    """
    if Path(path).suffix.lower() == ".csv":
        return list(read_table(path, allowed))
    return [(None, item) for item in read_yaml_list(path, "applicants")]
