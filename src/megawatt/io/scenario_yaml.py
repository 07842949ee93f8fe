"""The scenario YAML file (and YAML lists such as ``applicants.yaml``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from megawatt.errors import input_error
from megawatt.io.common import read_text


def _parse(path: Path, detail: bool) -> Any:
    text = read_text(path)
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = (getattr(exc, "problem", None) if detail else None) or "not valid YAML"
        text = f"invalid YAML: {problem}" if detail else "invalid YAML"
        raise input_error(path, where, text) from None


def read_yaml_mapping(path: Path) -> dict[str, Any]:
    """Read a YAML file that must hold a mapping (the scenario file)."""
    data = _parse(path, detail=True)
    if not isinstance(data, dict):
        raise input_error(
            path,
            "",
            "must be a YAML mapping (key: value lines) at the top level",
            type(data).__name__,
        )
    return data


def read_scenario_yaml(path: Path) -> dict[str, Any]:
    """The scenario file as a mapping; file names in it are left to the caller."""
    return read_yaml_mapping(path)


def read_yaml_list(path: Path, key: str) -> list[Any]:
    """Read a YAML file holding a list, or a mapping with that list under ``key``."""
    data = _parse(path, detail=False)
    if isinstance(data, dict) and key in data:
        data = data[key]
    if not isinstance(data, list):
        raise input_error(path, "", f"must hold a list of {key}", type(data).__name__)
    return data
