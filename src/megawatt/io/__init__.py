"""Readers of every input file, one module per format (like ``pvlib.iotools``).

==========================  ===================================================
module                      format
==========================  ===================================================
:mod:`.scenario_yaml`       the scenario YAML; YAML lists (``applicants.yaml``)
:mod:`.generators`          ``generators.csv``, a generator a row
:mod:`.applicants`          ``applicants.yaml`` or ``applicants.csv``
:mod:`.ntdc`                NTDC hourly load ``DATE,HOUR,SYSLOAD``
:mod:`.demand`              monthly demand ``month,energy_gwh``; our hourly demand
:mod:`.profiles`            availability profiles ``timestamp,<profile>...``
:mod:`.load`                a load file for the headroom method (ISO or NTDC)
:mod:`.prices`              Bitcoin price history ``date,btc_price_usd``
:mod:`.catalogues`          the ASIC and GPU catalogues
==========================  ===================================================

The readers return plain Python and pandas objects; validating them into a scenario
is the scenario layer's job. This package sits below every other (it imports only
:mod:`megawatt.errors` and third-party libraries). Every problem is an
:class:`~megawatt.errors.InputError` naming the file, the line and column (the header
is line 1), the value as written and what is allowed. Relative file names of a
scenario are resolved in one place, :func:`resolve`, against the directory of the
scenario file.
"""

from __future__ import annotations

from megawatt.io.applicants import read_applicants
from megawatt.io.catalogues import read_asic_catalogue, read_gpu_catalogue
from megawatt.io.common import read_csv_rows, read_text, resolve
from megawatt.io.demand import read_hourly_demand, read_monthly_demand
from megawatt.io.generators import read_generators
from megawatt.io.hourly import read_hourly_csv
from megawatt.io.load import read_load_csv
from megawatt.io.ntdc import read_ntdc
from megawatt.io.prices import read_price_history
from megawatt.io.profiles import read_profiles
from megawatt.io.scenario_yaml import read_scenario_yaml, read_yaml_list, read_yaml_mapping

__all__ = [
    "read_applicants",
    "read_asic_catalogue",
    "read_csv_rows",
    "read_generators",
    "read_gpu_catalogue",
    "read_hourly_csv",
    "read_hourly_demand",
    "read_load_csv",
    "read_monthly_demand",
    "read_ntdc",
    "read_price_history",
    "read_profiles",
    "read_scenario_yaml",
    "read_text",
    "read_yaml_list",
    "read_yaml_mapping",
    "resolve",
]
