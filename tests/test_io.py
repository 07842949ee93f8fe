"""The readers of megawatt.io: per format, a good file and a bad one.

A bad file is an InputError (a ValueError) whose one-line message names the file, the
line and column, the value as written and what is allowed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from megawatt import io
from megawatt.cli import app
from megawatt.data import dataset_dir, default_scenario_path
from megawatt.errors import InputError
from megawatt.scenario.model import Applicant, Generator

GENERATOR_COLUMNS = [n for n in Generator.model_fields if n != "provenance"] + [
    "source",
    "basis",
    "notes",
]
APPLICANT_COLUMNS = [n for n in Applicant.model_fields if n != "provenance"] + [
    "source",
    "basis",
    "notes",
]
INDEX = pd.date_range("2024-06-30T19:00Z", periods=3, freq="h", name="snapshot")
TZ = "Asia/Karachi"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def bad(reader, *args) -> str:
    """The message of the InputError ``reader(*args)`` raises; it is one line."""
    with pytest.raises(InputError) as err:
        reader(*args)
    message = str(err.value)
    assert "\n" not in message and "Traceback" not in message
    return message


def test_resolve_once_relative_to_the_scenario_directory(tmp_path: Path) -> None:
    assert io.resolve(tmp_path, "a/b.csv") == tmp_path / "a" / "b.csv"
    assert io.resolve(tmp_path, "/abs/b.csv") == Path("/abs/b.csv")


def test_input_error_is_a_value_error_with_a_located_message(tmp_path: Path) -> None:
    err = InputError(tmp_path / "x.csv", "line 3, column p", "must be >= 0", "-1", True)
    assert isinstance(err, ValueError)
    assert str(err) == f"{tmp_path / 'x.csv'}: line 3, column p: must be >= 0 (got '-1')"


# --------------------------------------------------------------------- scenario YAML


def test_scenario_yaml_good() -> None:
    raw = io.read_scenario_yaml(default_scenario_path())
    assert raw["name"] == "pakistan-fy2025" and raw["generators"] == "generators.csv"


def test_scenario_yaml_bad(tmp_path: Path) -> None:
    path = write(tmp_path, "s.yaml", "name: x\nhours: [1,\n")
    message = bad(io.read_scenario_yaml, path)
    assert message.startswith(f"{path}: line 3, column 1: invalid YAML")
    message = bad(io.read_scenario_yaml, write(tmp_path, "l.yaml", "- 1\n- 2\n"))
    assert "must be a YAML mapping (key: value lines) at the top level (got 'list')" in message
    assert "file not found" in bad(io.read_scenario_yaml, tmp_path / "nope.yaml")


# ------------------------------------------------------------------- generator table


def test_generators_good() -> None:
    rows = io.read_generators(dataset_dir() / "generators.csv", GENERATOR_COLUMNS)
    line, first = rows[0]
    assert line == 2 and first["p_nom_mw"] and first["provenance"]["basis"] in ("R", "E", "R+E")
    assert all("" not in item.values() for _, item in rows)  # empty cell = the default


def test_generators_bad(tmp_path: Path) -> None:
    path = write(tmp_path, "g.csv", "name,zone,vom\na,N,1\n")
    message = bad(io.read_generators, path, GENERATOR_COLUMNS)
    assert message.startswith(f"{path}: line 1: unknown column; allowed: name, zone,")
    assert message.endswith("(got 'vom')")
    path = write(tmp_path, "g2.csv", "name,zone,p_nom_mw\na,N,1\n\nb,N\n")
    assert bad(io.read_generators, path, GENERATOR_COLUMNS) == (
        f"{path}: line 4: has 2 cells, the header has 3"
    )


# ------------------------------------------------------------------- applicant table


def test_applicants_good(tmp_path: Path) -> None:
    yaml_rows = io.read_applicants(dataset_dir() / "applicants.yaml", APPLICANT_COLUMNS)
    assert yaml_rows and all(line is None for line, _ in yaml_rows)
    path = write(tmp_path, "a.csv", "name,kind,requested_mw,notes\nm1,btc_miner,50,hi\n")
    item = {"name": "m1", "kind": "btc_miner", "requested_mw": "50", "provenance": {"notes": "hi"}}
    assert io.read_applicants(path, APPLICANT_COLUMNS) == [(2, item)]


def test_applicants_bad(tmp_path: Path) -> None:
    path = write(tmp_path, "a.csv", "name,kind,mw\nm1,btc_miner,50\n")
    message = bad(io.read_applicants, path, APPLICANT_COLUMNS)
    assert message.startswith(f"{path}: line 1: unknown column; allowed: name, kind,")
    path = write(tmp_path, "a.yaml", "applicants: {m1: 1}\n")
    assert bad(io.read_applicants, path, APPLICANT_COLUMNS) == (
        f"{path}: must hold a list of applicants (got 'dict')"
    )


# ------------------------------------------------------------------------------ NTDC

NTDC = "DATE,HOUR,SYSLOAD\n01/07/2024,1,100\n01/07/2024,2,110.5\n"


def test_ntdc_good(tmp_path: Path) -> None:
    frame = io.read_ntdc(write(tmp_path, "n.csv", NTDC + "01/07/2024,3,120\n"))
    assert list(frame.index) == list(pd.date_range("2024-07-01", periods=3, freq="h"))
    assert frame.load_mw.tolist() == [100.0, 110.5, 120.0]
    assert frame.line.tolist() == [2, 3, 4]
    # HOUR 24 is the hour beginning 23:00; ISO dates; header case and spaces ignored
    iso = io.read_ntdc(write(tmp_path, "i.csv", " date ,Hour,sysload\n2024-07-01,24,5\n"))
    assert iso.index[0] == pd.Timestamp("2024-07-01 23:00")


@pytest.mark.parametrize(
    ("rows", "where", "problem"),
    [
        ("01/07/2024,25,100", "line 4, column HOUR", "must be a whole hour 1-24 (hour ending)"),
        ("01/07/2024,2.5,100", "line 4, column HOUR", "must be a whole hour 1-24"),
        ("01/07/2024,3,-5", "line 4, column SYSLOAD", "must be >= 0 MW (got '-5')"),
        ("01/07/2024,3,abc", "line 4, column SYSLOAD", "must be a number (got 'abc')"),
        ("31/02/2024,3,100", "line 4, column DATE", "must be a date like 2024-07-01"),
        # one date format for the whole column: no per-cell guessing
        ("2024-07-01,3,100", "line 4, column DATE", "one format throughout"),
        ("01/07/2024,1,100", "line 4", "duplicate hour 2024-07-01 00:00:00 (also on line 2)"),
        ("01/07/2024,5,100", "line 4", "gap of 2 h"),
    ],
)
def test_ntdc_bad(tmp_path: Path, rows: str, where: str, problem: str) -> None:
    path = write(tmp_path, "n.csv", NTDC + rows + "\n")
    message = bad(io.read_ntdc, path)
    assert message.startswith(f"{path}: {where}: ")
    assert problem in message


def test_ntdc_rows_out_of_order(tmp_path: Path) -> None:
    path = write(tmp_path, "n.csv", "DATE,HOUR,SYSLOAD\n01/07/2024,2,1\n01/07/2024,1,1\n")
    assert "line 3: out of order" in bad(io.read_ntdc, path)
    path = write(tmp_path, "h.csv", "DATE,HR,LOAD\n01/07/2024,2,1\n")
    assert bad(io.read_ntdc, path) == (
        f"{path}: line 1: NTDC format needs columns DATE,HOUR,SYSLOAD (got 'DATE,HR,LOAD')"
    )


# ------------------------------------------------------------------------ demand CSVs


def test_monthly_demand_good() -> None:
    energy = io.read_monthly_demand(dataset_dir() / "demand_monthly.csv")
    assert len(energy) == 12 and energy[(2024, 7)] == 14880 * 1000.0


def test_monthly_demand_bad(tmp_path: Path) -> None:
    path = write(tmp_path, "m.csv", "month,energy_gwh\n2024-07,100\n2024-08,-5\n")
    assert bad(io.read_monthly_demand, path) == (
        f"{path}: line 3, column energy_gwh: must be > 0 (got '-5')"
    )
    path = write(tmp_path, "m2.csv", "month,energy_gwh\nJuly,100\n")
    assert "line 2, column month: must be a month YYYY-MM (got 'July')" in bad(
        io.read_monthly_demand, path
    )


def _hourly(columns: str, values: list[str]) -> str:
    stamps = INDEX.tz_convert(TZ)
    rows = [f"{t.isoformat()},{v}" for t, v in zip(stamps, values, strict=True)]
    return f"timestamp,{columns}\n" + "\n".join(rows) + "\n"


def test_hourly_demand_good(tmp_path: Path) -> None:
    path = write(tmp_path, "d.csv", _hourly("North,South", ["1,2", "3,4", "5,6"]))
    frame = io.read_hourly_demand(path, INDEX, TZ)
    assert frame.index.equals(INDEX) and frame.North.tolist() == [1.0, 3.0, 5.0]


def test_hourly_demand_bad(tmp_path: Path) -> None:
    path = write(tmp_path, "d.csv", _hourly("load_mw", ["1", "-3", "5"]))
    assert bad(io.read_hourly_demand, path, INDEX, TZ) == (
        f"{path}: line 3, column load_mw: must be >= 0 (got '-3')"
    )
    text = _hourly("load_mw", ["1", "2", "3"]).replace("T02:00", "T04:00")
    path = write(tmp_path, "d2.csv", text)
    assert "line 4, column timestamp: gap of 3 h after the previous row" in bad(
        io.read_hourly_demand, path, INDEX, TZ
    )


# --------------------------------------------------------------------------- profiles


def test_profiles_good(tmp_path: Path) -> None:
    path = write(tmp_path, "p.csv", _hourly("wind", ["0", "0.5", "1"]))
    assert io.read_profiles(path, INDEX, TZ).wind.tolist() == [0.0, 0.5, 1.0]


def test_profiles_bad(tmp_path: Path) -> None:
    path = write(tmp_path, "p.csv", _hourly("wind", ["0", "1.2", "1"]))
    assert bad(io.read_profiles, path, INDEX, TZ) == (
        f"{path}: line 3, column wind: must be <= 1 (got '1.2')"
    )
    path = write(tmp_path, "p2.csv", _hourly("wind", ["0", "", "1"]))
    assert "line 3, column wind: empty cell; a number is required" in bad(
        io.read_profiles, path, INDEX, TZ
    )


# ---------------------------------------------------------------------- price history


def _prices(days: int) -> str:
    dates = pd.date_range("2020-01-01", periods=days, freq="D")
    rows = [f"{d:%Y-%m-%d},{1000 + i}\n" for i, d in enumerate(dates)]
    return "date,btc_price_usd\n" + "".join(rows)


def test_price_history_good(tmp_path: Path) -> None:
    history = io.read_price_history(write(tmp_path, "btc.csv", _prices(70)))
    assert len(history) == 70 and history.iloc[-1] == 1069.0
    assert history.index[0] == pd.Timestamp("2020-01-01")


def test_price_history_bad(tmp_path: Path) -> None:
    path = write(tmp_path, "btc.csv", _prices(70).replace(",1005\n", ",0\n"))
    assert bad(io.read_price_history, path) == (
        f"{path}: line 7, column btc_price_usd: must be a price > 0 USD (got '0')"
    )
    path = write(tmp_path, "short.csv", _prices(20))
    assert "needs at least 61 days" in bad(io.read_price_history, path)


# ------------------------------------------------------------------------ catalogues

ASIC_HEAD = "model,hashrate_th_s,power_w,efficiency_j_per_th,price_usd\n"


def test_asic_catalogue_good() -> None:
    table = io.read_asic_catalogue(dataset_dir().parent / "asics.csv")
    assert table.index.name == "model" and (table.hashrate_th_s > 0).all()
    assert table.power_w.dtype == np.float64


@pytest.mark.parametrize(
    ("row", "where", "problem"),
    [
        ("B,0,3500,17.5,3400", "line 3, column hashrate_th_s", "must be a number > 0 (got 0)"),
        ("B,200,3500,17.5,-1", "line 3, column price_usd", "must be a number >= 0 (got -1)"),
        ("B,200,watts,17.5,1", "line 3, column power_w", "must be a number > 0 (got 'watts')"),
        ("B,200,3500,15,3400", "line 3, column efficiency_j_per_th", "within 3% of power"),
        ("A,200,3500,17.5,3400", "line 3, column model", "model listed twice (got 'A')"),
    ],
)
def test_asic_catalogue_bad(tmp_path: Path, row: str, where: str, problem: str) -> None:
    path = write(tmp_path, "asics.csv", ASIC_HEAD + "A,200,3500,17.5,3400\n" + row + "\n")
    message = bad(io.read_asic_catalogue, path)
    assert message.startswith(f"{path}: {where}: ") and problem in message


def test_gpu_catalogue_good() -> None:
    table = io.read_gpu_catalogue(dataset_dir().parent / "gpus.csv")
    assert (table.it_power_w_per_gpu == table.gpu_power_w + table.server_overhead_w).all()


def test_gpu_catalogue_bad(tmp_path: Path) -> None:
    head = "model,gpu_power_w,server_overhead_w,system_price_usd_per_gpu\n"
    path = write(tmp_path, "gpus.csv", head + "H1,700,575,35000\nH2,700,-5,1\n")
    assert bad(io.read_gpu_catalogue, path) == (
        f"{path}: line 3, column server_overhead_w: must be a number >= 0 (got -5)"
    )
    path = write(tmp_path, "g2.csv", "model,gpu_power_w\nH1,700\n")
    assert "line 1: missing columns server_overhead_w, system_price_usd_per_gpu" in bad(
        io.read_gpu_catalogue, path
    )


# ---------------------------------------------------------------- headroom load file


def test_load_csv_good_iso_and_ntdc(tmp_path: Path) -> None:
    iso = io.read_load_csv(
        write(tmp_path, "l.csv", "timestamp,load_mw\n2024-07-01 01:00,2\n2024-07-01 00:00,1\n")
    )
    assert iso.tolist() == [1.0, 2.0]  # ISO rows may come in any order
    ntdc = io.read_load_csv(write(tmp_path, "n.csv", NTDC))
    assert ntdc.name == "load_mw" and ntdc.tolist() == [100.0, 110.5]


def test_bad_load_file_is_one_line_from_the_cli(tmp_path: Path) -> None:
    path = write(tmp_path, "n.csv", NTDC + "01/07/2024,25,100\n")
    result = CliRunner().invoke(app, ["headroom", str(path)])
    assert result.exit_code == 2
    out = result.output.replace("\n", "")
    assert "n.csv: line 4, column HOUR: must be a whole hour 1-24 (hour ending) (got '25')" in out
    assert "Traceback" not in result.output
