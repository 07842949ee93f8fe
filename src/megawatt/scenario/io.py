"""Read and write scenarios: one YAML file plus the tables it names.

``load(path)`` reads the YAML, replaces the file names under ``generators`` (CSV) and
``applicants`` (YAML or CSV) with their rows, validates the whole with pydantic and
then reads the hourly series, so that a scenario that loads is a scenario that runs.
Every problem becomes an :class:`~megawatt.errors.InputError` naming the file, the
field path or CSV line and column, the value and what is allowed. ``dump`` writes a
scenario back as editable files that load unchanged.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from pydantic import BaseModel, ValidationError

from megawatt.errors import InputError
from megawatt.io import (
    read_applicants,
    read_generators,
    read_price_history,
    read_scenario_yaml,
)
from megawatt.io.tables import PROVENANCE_COLUMNS
from megawatt.scenario.model import (
    Applicant,
    Generator,
    Provenance,
    ReferenceProblem,
    Scenario,
)
from megawatt.scenario.origin import Origin, RowOrigin, locate, origin_of
from megawatt.scenario.series import timeseries

__all__ = [
    "Origin",
    "RowOrigin",
    "dump",
    "load",
    "origin_of",
    "price_history",
    "validate",
    "write_csv_table",
]


def load(path: str | Path) -> Scenario:
    """Load and fully validate a scenario (YAML, tables and hourly series).

    Raises
    ------
    InputError
        For any problem with the files, naming file, field or line/column, value and
        what is allowed.
    """
    path = Path(path)
    raw = read_scenario_yaml(path)
    origin = Origin(path=path, base_dir=path.parent)
    for key, model, reader in (
        ("generators", Generator, read_generators),
        ("applicants", Applicant, read_applicants),
    ):
        value = raw.get(key)
        if isinstance(value, str):
            table = origin.resolve(value)
            items = reader(table, _model_columns(model))
            for i, (line, _) in enumerate(items):
                origin.rows[(key, i)] = RowOrigin(table, line)
            raw[key] = [item for _, item in items]
    scenario = validate(raw, origin)
    timeseries(scenario)  # read and check the series now, not halfway through a run
    price_history(scenario)  # and the bootstrap's prices, which risk reads
    return scenario


def price_history(scenario: Scenario) -> pd.Series | None:
    """The daily prices of ``risk.price_history`` for the bootstrap (None for GBM).

    Raises
    ------
    InputError
        A missing or bad file, or fewer days than ``risk.block_days``.
    """
    risk = scenario.risk
    if risk.price_model != "bootstrap" or not risk.price_history:
        return None
    origin = origin_of(scenario)
    path = origin.resolve(risk.price_history)
    if not path.exists():
        raise InputError(origin.label, "risk.price_history", "file not found", str(path), True)
    history = read_price_history(path)
    if len(history) <= risk.block_days:
        raise InputError(
            str(path),
            "",
            f"needs more days than risk.block_days ({risk.block_days})",
            len(history),
            True,
        )
    return history


def validate(raw: dict[str, Any], origin: Origin | None = None) -> Scenario:
    """Validate a scenario mapping; errors are located through ``origin``."""
    origin = origin or Origin(path=None, base_dir=Path.cwd())
    try:
        scenario = Scenario.model_validate(raw)
    except ValidationError as exc:
        raise _to_input_error(exc, origin) from None
    scenario._origin = origin  # type: ignore[attr-defined]
    return scenario


def _model_columns(model: type[BaseModel]) -> list[str]:
    names = [n for n in model.model_fields if n != "provenance"]
    return names + list(PROVENANCE_COLUMNS)


def _to_input_error(exc: ValidationError, origin: Origin) -> InputError:
    err = exc.errors()[0]
    loc = tuple(err["loc"])
    cause = (err.get("ctx") or {}).get("error")
    if isinstance(cause, ReferenceProblem):
        # Model-level cross-reference checks name their own field path.
        parts = _split_path(cause.path)
        return locate(origin, parts, cause.problem, cause.value, True)
    message = _plain_message(err)
    has_value = err["type"] != "missing"
    return locate(origin, loc, message, err.get("input"), has_value)


def _split_path(path: str) -> tuple[int | str, ...]:
    parts: list[int | str] = []
    for chunk in path.replace("]", "").replace("[", ".").split("."):
        if chunk:
            parts.append(int(chunk) if chunk.isdigit() else chunk)
    return tuple(parts)


def _plain_message(err: Any) -> str:
    kind = err["type"]
    ctx = err.get("ctx") or {}
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        return "unknown field"
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        op, key = {
            "greater_than_equal": (">=", "ge"),
            "greater_than": (">", "gt"),
            "less_than_equal": ("<=", "le"),
            "less_than": ("<", "lt"),
        }[kind]
        return f"must be {op} {ctx.get(key):g}"
    if kind in ("float_parsing", "float_type"):
        return "must be a number"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return "must be a whole number"
    if kind in ("bool_parsing", "bool_type"):
        return "must be true or false"
    if kind == "value_error":
        return str(ctx.get("error", err["msg"]))
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected')}"
    if kind == "string_pattern_mismatch":
        return "must start with a letter and use only letters, digits, '_' or '-'"
    if kind in ("date_from_datetime_parsing", "date_parsing", "date_type"):
        return "must be a date YYYY-MM-DD"
    if kind in ("datetime_parsing", "datetime_from_date_parsing", "datetime_type"):
        return "must be a date-time YYYY-MM-DDTHH:MM"
    if kind in ("list_type", "dict_type", "model_type", "model_attributes_type"):
        expected = {"list_type": "a list", "dict_type": "a mapping"}.get(kind, "a mapping")
        return f"must be {expected}"
    if kind == "too_short":
        return f"needs at least {ctx.get('min_length')} item(s)"
    return err["msg"][0].lower() + err["msg"][1:]


# ---------------------------------------------------------------------------------
# Writing


def dump(scenario: Scenario, directory: str | Path) -> Path:
    """Write ``scenario`` as editable files into ``directory``; return the YAML path.

    The generators go to ``generators.csv``, the applicants to ``applicants.yaml``,
    and the demand and profile CSVs are copied next to it, so that ``load`` of the
    result gives an equal scenario.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    origin = origin_of(scenario)
    data = scenario.model_dump(mode="json", exclude={"generators", "applicants"})
    data["generators"] = "generators.csv"
    data["applicants"] = "applicants.yaml"

    src = origin.resolve(scenario.demand.file)
    data["demand"]["file"] = src.name
    _copy(src, directory / src.name)
    if scenario.profiles:
        src = origin.resolve(scenario.profiles)
        data["profiles"] = src.name
        _copy(src, directory / src.name)
    if scenario.risk.price_history:
        src = origin.resolve(scenario.risk.price_history)
        data["risk"]["price_history"] = src.name
        _copy(src, directory / src.name)

    sources = origin.base_dir / "sources.yaml"
    if sources.is_file():  # the reference list the rows' `source` ids point into
        _copy(sources, directory / "sources.yaml")
    write_csv_table(directory / "generators.csv", scenario.generators)
    applicants = [a.model_dump(mode="json", exclude_defaults=True) for a in scenario.applicants]
    _write_text(directory / "applicants.yaml", _yaml({"applicants": applicants}))
    out = directory / "scenario.yaml"
    _write_text(out, _yaml(data))
    return out


def write_csv_table(path: Path, rows: list[Generator] | list[Applicant]) -> None:
    """Write models with flat fields (plus provenance) as CSV, one row each."""
    if not rows:
        return
    columns = _model_columns(type(rows[0]))
    lines: list[list[str]] = [columns]
    for row in rows:
        values = row.model_dump(mode="json")
        prov = values.pop("provenance", Provenance().model_dump())
        values.update(prov)
        lines.append([_cell(values.get(c)) for c in columns])
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerows(lines)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value)) if abs(value) < 1e15 else repr(value)
    return str(value)


def _copy(src: Path, dst: Path) -> None:
    if src.resolve() != dst.resolve():
        shutil.copyfile(src, dst)


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def _yaml(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=88)
