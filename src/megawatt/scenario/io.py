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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from megawatt.errors import InputError, input_error
from megawatt.scenario.model import (
    Applicant,
    Generator,
    Provenance,
    ReferenceProblem,
    Scenario,
    field_path,
)

PROVENANCE_COLUMNS = ("source", "basis", "notes")


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


def load(path: str | Path) -> Scenario:
    """Load and fully validate a scenario (YAML, tables and hourly series).

    Raises
    ------
    InputError
        For any problem with the files, naming file, field or line/column, value and
        what is allowed.
    """
    from megawatt.scenario.series import timeseries

    path = Path(path)
    raw = read_yaml_mapping(path)
    origin = Origin(path=path, base_dir=path.parent)
    for key, reader in (("generators", _read_generators), ("applicants", _read_applicants)):
        value = raw.get(key)
        if isinstance(value, str):
            raw[key] = reader(_resolve(origin, value, key), origin)
    scenario = validate(raw, origin)
    timeseries(scenario)  # read and check the series now, not halfway through a run
    return scenario


def validate(raw: dict[str, Any], origin: Origin | None = None) -> Scenario:
    """Validate a scenario mapping; errors are located through ``origin``."""
    origin = origin or Origin(path=None, base_dir=Path.cwd())
    try:
        scenario = Scenario.model_validate(raw)
    except ValidationError as exc:
        raise _to_input_error(exc, origin) from None
    scenario._origin = origin  # type: ignore[attr-defined]
    return scenario


def origin_of(scenario: Scenario) -> Origin:
    """The origin a scenario was loaded from (the working directory if built in Python)."""
    origin = getattr(scenario, "_origin", None)
    return origin if origin is not None else Origin(path=None, base_dir=Path.cwd())


def read_yaml_mapping(path: Path) -> dict[str, Any]:
    """Read a YAML file that must hold a mapping."""
    text = _read_text(path)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise input_error(path, where, f"invalid YAML: {problem}") from None
    if not isinstance(data, dict):
        raise input_error(
            path,
            "",
            "must be a YAML mapping (key: value lines) at the top level",
            type(data).__name__,
        )
    return data


def read_csv_rows(path: Path) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """Read a CSV with a header: (columns, [(line number, row)]); blank lines skipped."""
    text = _read_text(path)
    reader = csv.reader(text.splitlines())
    try:
        header = next(reader)
    except StopIteration:
        raise input_error(path, "line 1", "empty file; expected a header line") from None
    columns = [c.strip() for c in header]
    if len(set(columns)) != len(columns):
        dup = next(c for c in columns if columns.count(c) > 1)
        raise input_error(path, "line 1", "duplicate column", dup)
    rows = []
    for line_no, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(columns):
            raise input_error(
                path,
                f"line {line_no}",
                f"has {len(cells)} cells, the header has {len(columns)}",
            )
        rows.append((line_no, {c: v.strip() for c, v in zip(columns, cells, strict=True)}))
    return columns, rows


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise input_error(path, "", "file not found") from None
    except IsADirectoryError:
        raise input_error(path, "", "is a directory, expected a file") from None
    except UnicodeDecodeError:
        raise input_error(path, "", "is not UTF-8 text") from None
    except OSError as exc:
        raise input_error(path, "", f"cannot read: {exc.strerror}") from None


def _resolve(origin: Origin, name: str, key: str) -> Path:
    path = Path(name)
    return path if path.is_absolute() else origin.base_dir / path


def _model_columns(model: type[BaseModel]) -> list[str]:
    names = [n for n in model.model_fields if n != "provenance"]
    return names + list(PROVENANCE_COLUMNS)


def _rows_to_items(
    path: Path, key: str, model: type[BaseModel], origin: Origin
) -> list[dict[str, Any]]:
    columns, rows = read_csv_rows(path)
    allowed = _model_columns(model)
    for col in columns:
        if col not in allowed:
            raise input_error(path, "line 1", f"unknown column; allowed: {', '.join(allowed)}", col)
    items = []
    for i, (line_no, row) in enumerate(rows):
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
        origin.rows[(key, i)] = RowOrigin(path, line_no)
        items.append(item)
    return items


def _read_generators(path: Path, origin: Origin) -> list[dict[str, Any]]:
    return _rows_to_items(path, "generators", Generator, origin)


def _read_applicants(path: Path, origin: Origin) -> list[Any]:
    if path.suffix.lower() == ".csv":
        return _rows_to_items(path, "applicants", Applicant, origin)
    data = read_yaml_list(path, "applicants")
    for i in range(len(data)):
        origin.rows[("applicants", i)] = RowOrigin(path)
    return data


def read_yaml_list(path: Path, key: str) -> list[Any]:
    """Read a YAML file holding a list, or a mapping with that list under ``key``."""
    text = _read_text(path)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise input_error(path, where, "invalid YAML") from None
    if isinstance(data, dict) and key in data:
        data = data[key]
    if not isinstance(data, list):
        raise input_error(path, "", f"must hold a list of {key}", type(data).__name__)
    return data


def _to_input_error(exc: ValidationError, origin: Origin) -> InputError:
    err = exc.errors()[0]
    loc = tuple(err["loc"])
    cause = (err.get("ctx") or {}).get("error")
    if isinstance(cause, ReferenceProblem):
        # Model-level cross-reference checks name their own field path.
        parts = _split_path(cause.path)
        return _locate(origin, parts, cause.problem, cause.value, True)
    message = _plain_message(err)
    has_value = err["type"] != "missing"
    return _locate(origin, loc, message, err.get("input"), has_value)


def _split_path(path: str) -> tuple[int | str, ...]:
    parts: list[int | str] = []
    for chunk in path.replace("]", "").replace("[", ".").split("."):
        if chunk:
            parts.append(int(chunk) if chunk.isdigit() else chunk)
    return tuple(parts)


def _locate(
    origin: Origin, loc: tuple[int | str, ...], problem: str, value: Any, has_value: bool
) -> InputError:
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

    for key in ("demand",):
        src = _resolve(origin, scenario.demand.file, key)
        data["demand"]["file"] = src.name
        _copy(src, directory / src.name)
    if scenario.profiles:
        src = _resolve(origin, scenario.profiles, "profiles")
        data["profiles"] = src.name
        _copy(src, directory / src.name)
    if scenario.risk.price_history:
        src = _resolve(origin, scenario.risk.price_history, "risk.price_history")
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
