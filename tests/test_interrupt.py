"""A run interrupted at any point (Ctrl-C, SIGTERM, SIGKILL) never destroys the previous
result in ``--out``, and leaves nothing the next run does not clean up (issue 12).

``megawatt plan`` runs in a subprocess on a 4-hour scenario (about 2 s). The test hook
``MEGAWATT_TEST_PAUSE_BEFORE_SWAP`` (see :mod:`megawatt.report.export`) makes it wait
once the new results are complete and before they replace the old ones: the
riskiest moment, hit deterministically.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from factories import one_miner
from megawatt.planning import run_plan
from megawatt.report import export
from megawatt.report.build import write_outcome
from megawatt.scenario import dump

pytestmark = [
    pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals"),
    pytest.mark.slow,  # three subprocess plans, each signalled twice (~15 s)
]


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Path]:
    """A scenario on disk, and ``out`` holding a complete earlier result of it."""
    raw = tmp_path / "raw"
    raw.mkdir()
    sc = one_miner(raw)
    scenario = dump(sc, tmp_path / "sc")
    out = tmp_path / "out"
    write_outcome(run_plan(sc, with_horizon=False), out)
    return scenario, out


def _snapshot(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def _strays(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.glob(f".{out.name}.*"))


def _plan(scenario: Path, out: Path, pause: float | None = None) -> subprocess.Popen:
    env = dict(os.environ)
    env.pop(export.PAUSE_BEFORE_SWAP, None)
    if pause is not None:
        env[export.PAUSE_BEFORE_SWAP] = str(pause)
    return subprocess.Popen(
        [sys.executable, "-m", "megawatt", "plan", str(scenario), "--out", str(out)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _wait_for_complete_new(out: Path, proc: subprocess.Popen, timeout: float = 120) -> None:
    """Until the new results are complete beside ``out`` (the hook then sleeps)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any((p / export.REPORT).is_file() for p in out.parent.glob(f".{out.name}.new-*")):
            time.sleep(0.3)  # report.html is the last file written
            return
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        time.sleep(0.05)
    raise AssertionError("the run never reached the swap")


SIGNALS = [signal.SIGINT, signal.SIGTERM, signal.SIGKILL]


@pytest.mark.parametrize("sig", SIGNALS, ids=[s.name for s in SIGNALS])
def test_interrupt_keeps_previous_result(sig: signal.Signals, setup) -> None:
    scenario, out = setup
    before = _snapshot(out)
    # early: while starting up or solving
    proc = _plan(scenario, out, pause=30)
    time.sleep(0.5)
    proc.send_signal(sig)
    assert proc.wait(timeout=60) != 0
    assert _snapshot(out) == before
    # at the riskiest point: the new result complete, not yet swapped in
    proc = _plan(scenario, out, pause=30)
    _wait_for_complete_new(out, proc)
    proc.send_signal(sig)
    code = proc.wait(timeout=60)
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    assert code != 0
    assert "Traceback" not in stderr, stderr
    assert _snapshot(out) == before
    if sig != signal.SIGKILL:
        assert _strays(out) == [], "a handled signal removes its temporary folder"
    # the next run completes, replaces the result and removes what a killed run left
    proc = _plan(scenario, out)
    assert proc.wait(timeout=120) == 0, proc.stderr.read().decode() if proc.stderr else ""
    after = _snapshot(out)
    assert set(after) == set(before)
    assert after["summary.json"] != before["summary.json"] or after == before
    assert export.is_megawatt_output(out)
    assert _strays(out) == []
