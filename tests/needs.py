"""What a test needs from the machine. Every machine here (CI included) has PostgreSQL,
its client tools, Debian's Chromium, python3.12 and the dev lock's packages: under
``CI=true`` a missing one is a failure (a missing install step must not hide behind a
skip); elsewhere the test is skipped and says why."""

from __future__ import annotations

import importlib
import os
from types import ModuleType

import pytest

IN_CI = bool(os.environ.get("CI"))


def missing(what: str) -> None:
    """Fail under CI, skip elsewhere: ``what`` is not on this machine."""
    if IN_CI:
        pytest.fail(f"{what} (CI machines must have it)")
    pytest.skip(what)


def module(name: str, why: str) -> ModuleType:
    """Import ``name``; when it is not installed, :func:`missing`."""
    try:
        return importlib.import_module(name)
    except ImportError:
        missing(f"{name} is not installed: {why}")
        raise  # unreachable: missing() always raises
