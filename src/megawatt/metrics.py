"""The formulas every reported figure is built from, once, on plain arrays.

These are the definitions: a capacity factor, a curtailed hour, a curtailment event.
They depend on numpy only, so every layer (the grid methods, the LP's result tables,
the accounts of a plan, the risk runs) computes the same quantity the same way; the
accounts in :mod:`megawatt.accounts` assemble them into the plan's tables.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

#: Below this [MW] a load is neither allocated nor curtailed (solver noise is ~1e-6).
CURTAIL_TOL_MW = 1e-3


def capacity_factor(
    energy_mwh: float | npt.ArrayLike, p_nom_mw: float | npt.ArrayLike, hours: float
) -> float | np.ndarray:
    """Energy over what the capacity could make in the span [-]:
    ``energy / (p_nom x hours)``; NaN where there is no capacity.

    Sum energy and capacity first for a group of plants (a group's factor is its
    energy-weighted mean, not the mean of its members' factors).
    """
    energy = np.asarray(energy_mwh, dtype=float)
    possible = np.asarray(p_nom_mw, dtype=float) * float(hours)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(possible > 0, energy / np.where(possible > 0, possible, 1.0), np.nan)
    return float(out) if out.ndim == 0 else out


def curtailed_mask(curtailed_mw: npt.ArrayLike, allocation_mw: npt.ArrayLike) -> np.ndarray:
    """True in the hours an applicant with an allocation is curtailed, [T, A]
    (``curtailed_mw`` [T, A] allocated but not served, ``allocation_mw`` [A]).
    Both must exceed :data:`CURTAIL_TOL_MW`."""
    curtailed = np.asarray(curtailed_mw, dtype=float)
    allocated = np.asarray(allocation_mw, dtype=float) > CURTAIL_TOL_MW
    return (curtailed > CURTAIL_TOL_MW) & allocated[None, :]


def curtailment_hours(mask: npt.ArrayLike) -> int:
    """Hours in which at least one applicant is curtailed (``mask`` [T, A] from
    :func:`curtailed_mask`)."""
    flags = np.asarray(mask, dtype=bool)
    return int(flags.any(axis=1).sum()) if flags.size else 0


def runs(mask: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Starts and lengths [h] of the runs of consecutive True values in an hourly
    boolean array: the curtailment events.

    Examples
    --------
    >>> runs(np.array([True, True, False, True]))
    (array([0, 3]), array([2, 1]))
    """
    flags = np.asarray(mask, dtype=bool)
    if flags.ndim != 1:
        raise ValueError(f"mask must be one-dimensional; got shape {flags.shape}")
    edges = np.flatnonzero(np.diff(np.concatenate([[False], flags, [False]]).astype(np.int8)))
    starts = edges[::2].astype(int)
    return starts, (edges[1::2] - edges[::2]).astype(int)


def run_lengths(mask: npt.ArrayLike) -> np.ndarray:
    """Lengths [h] of the runs of True in an hourly boolean array (see :func:`runs`).

    >>> run_lengths(np.array([True, True, False, True]))
    array([2, 1])
    """
    return runs(mask)[1]
