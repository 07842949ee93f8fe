"""Fuzz: seeded mutations of the default scenario's files through the CLI.

Every case must end in exit 0, or exit 2 with one line, within a time limit: never a
traceback, a hang or unbounded memory. A mutant that validates must also plan (exit 0,
or 2 with one line): `scenario validate` promises that `plan` will not fail on input.
The span is cut to 48 hours so a plan takes a second. The loop is seeded: a failure
prints the seed, case and mutations, and reruns the same way.
"""

from __future__ import annotations

import os
import random
import re
import resource
import shutil
import signal
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from megawatt.cli import app

runner = CliRunner()

#: CI runs the same cases every time; MEGAWATT_FUZZ_SEED / _CASES explore others.
SEED = int(os.environ.get("MEGAWATT_FUZZ_SEED", "20261203"))
CASES = int(os.environ.get("MEGAWATT_FUZZ_CASES", "160"))
CASE_LIMIT_S = 20
MEMORY_LIMIT_MB = 3_000

FILES = ("scenario.yaml", "applicants.yaml", "generators.csv", "demand_monthly.csv", "profiles.csv")
TOKENS = (
    "", "-1", "0", "-0", "inf", "-inf", ".inf", "nan", ".nan", "1e999", "1e308", "-1e308",
    "abc", "[", "]", "{", "}", "&a", "*a", '"', "'", ",", ":", "- ", "#", "\x00", "\u2028",
    "\f", "true", "null", "~", "9" * 400, "2024-02-30", "2024-03-10T02:00", "25:00",
    "Asia/Nowhere", "America", "S99", "H999", "\u00e9\U0001f642", "1_000", "0x10", "1,5",
)  # fmt: skip
NUMBER_OR_WORD = re.compile(r"-?\d+(?:\.\d+)?(?:e-?\d+)?|[A-Za-z_][A-Za-z0-9_/.-]*")


class CaseTimeout(Exception):
    pass


def _mutations(rng: random.Random) -> list[tuple[str, Callable[[list[str]], list[str]]]]:
    def pick(lines: list[str]) -> int:
        return rng.randrange(len(lines)) if lines else 0

    def delete_line(lines: list[str]) -> list[str]:
        if lines:
            del lines[pick(lines)]
        return lines

    def duplicate_line(lines: list[str]) -> list[str]:
        if lines:
            i = pick(lines)
            lines.insert(i, lines[i])
        return lines

    def swap_lines(lines: list[str]) -> list[str]:
        if len(lines) > 1:
            i, j = pick(lines), pick(lines)
            lines[i], lines[j] = lines[j], lines[i]
        return lines

    def replace_token(lines: list[str]) -> list[str]:
        if lines:
            i = pick(lines)
            spans = list(NUMBER_OR_WORD.finditer(lines[i]))
            if spans:
                m = rng.choice(spans)
                lines[i] = lines[i][: m.start()] + rng.choice(TOKENS) + lines[i][m.end() :]
        return lines

    def insert_token(lines: list[str]) -> list[str]:
        if lines:
            i = pick(lines)
            k = rng.randrange(len(lines[i]) + 1)
            lines[i] = lines[i][:k] + rng.choice(TOKENS) + lines[i][k:]
        return lines

    def reindent(lines: list[str]) -> list[str]:
        if lines:
            i = pick(lines)
            lines[i] = " " * rng.choice((0, 1, 3, 8)) + lines[i].lstrip()
        return lines

    def truncate(lines: list[str]) -> list[str]:
        if lines:
            i = pick(lines)
            return [*lines[:i], lines[i][: rng.randrange(len(lines[i]) + 1)]]
        return lines

    def empty(lines: list[str]) -> list[str]:
        return []

    return [
        ("delete_line", delete_line),
        ("duplicate_line", duplicate_line),
        ("swap_lines", swap_lines),
        ("replace_token", replace_token),
        ("replace_token", replace_token),
        ("insert_token", insert_token),
        ("reindent", reindent),
        ("truncate", truncate),
        ("empty", empty),
    ]


@pytest.fixture(scope="module")
def template(tmp_path_factory, default_scenario) -> Path:
    """The default scenario as files, cut to 48 hours."""
    from megawatt.scenario import dump

    root = tmp_path_factory.mktemp("fuzz-template")
    dump(default_scenario, root / "sc")
    path = root / "sc" / "scenario.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["hours"] = 48
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    profiles = root / "sc" / "profiles.csv"
    lines = profiles.read_text(encoding="utf-8").splitlines()[:49]  # header + 48 hours
    profiles.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, output, _ = _run(["scenario", "validate", str(path)])
    assert code == 0, output
    return root / "sc"


def _run(args: list[str]) -> tuple[int, str, BaseException | None]:
    def on_alarm(signum, frame):
        raise CaseTimeout(f"over {CASE_LIMIT_S} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(CASE_LIMIT_S)
    try:
        result = runner.invoke(app, args)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    exception = result.exception if not isinstance(result.exception, SystemExit) else None
    return result.exit_code, result.output, exception


def _check(label: str, code: int, output: str, exception: BaseException | None) -> None:
    assert exception is None, f"{label}: {type(exception).__name__}: {exception}"
    assert code in (0, 2), f"{label}: exit {code}\n{output}"
    assert "Traceback" not in output, f"{label}: traceback\n{output}"
    if code == 2:
        lines = [line for line in output.strip().splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("error:"), f"{label}: not one line\n{output}"


@pytest.mark.slow
def test_mutated_scenarios_fail_cleanly(template: Path, tmp_path: Path) -> None:
    rng = random.Random(SEED)
    mutations = _mutations(rng)
    counts = {"validated": 0, "rejected": 0, "planned": 0, "plan_rejected": 0}
    for case in range(CASES):
        work = tmp_path / f"case{case}"
        shutil.copytree(template, work)
        applied = []
        for _ in range(rng.choice((1, 1, 2, 3))):
            name = rng.choice(FILES)
            kind, mutate = rng.choice(mutations)
            path = work / name
            text = path.read_text(encoding="utf-8")
            path.write_text("\n".join(mutate(text.splitlines())) + "\n", encoding="utf-8")
            applied.append(f"{kind}({name})")
        label = f"seed {SEED} case {case}: {', '.join(applied)}"
        code, output, exception = _run(["scenario", "validate", str(work / "scenario.yaml")])
        _check(label, code, output, exception)
        if code == 2:
            counts["rejected"] += 1
        else:
            counts["validated"] += 1
            out = work / "out"
            code, output, exception = _run(
                ["plan", str(work / "scenario.yaml"), "--out", str(out), "--no-details"]
            )
            _check(f"{label} (plan)", code, output, exception)
            counts["planned" if code == 0 else "plan_rejected"] += 1
        shutil.rmtree(work, ignore_errors=True)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"fuzz: {CASES} cases, {counts}, peak RSS {peak_mb:,.0f} MB")
    assert peak_mb < MEMORY_LIMIT_MB
    assert counts["rejected"] > 0 and counts["validated"] > 0  # the loop tests both paths
