"""Unit economics of Bitcoin mining: what a MWh is worth to a miner.

The block subsidy follows from the block height (halving every 210,000 blocks) and
the calendar date of a future height from a mean block time; the hashprice (BTC or
USD a TH/s earns per day) from the height's subsidy, the fees and the network
difficulty (or hashrate with the blocks found per day), in one function, ``hashprice``;
and through an ASIC's efficiency [J/TH] and the site's PUE, the revenue a
MWh at the meter earns. That revenue is the miner's break-even power price and its bid:
a miner draws only in hours where the tariff is at or below it, so its response to the
tariff shifts with hashprice [4]_. Fleets of ASIC models from the packaged catalogue
(``megawatt/data/asics.csv``) are sized from a power allocation and a mix of models by
power share. All functions take floats or numpy arrays (broadcasting) unless they say
otherwise.

References
----------
.. [1] Nakamoto, S. (2008). Bitcoin: A Peer-to-Peer Electronic Cash System.
.. [2] Bitcoin Core, ``src/validation.cpp`` (``GetBlockSubsidy``) and ``src/pow.cpp``
   (``CalculateNextWorkRequired``).
.. [3] Luxor Technology, Hashrate Index: hashprice methodology.
.. [4] Majumder et al. (2026): miners' curtailment threshold is a function of hashprice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from megawatt.io import read_asic_catalogue

BLOCKS_PER_DAY = 144
"""Blocks per day at the target spacing: 86,400 s / 600 s [blocks/day]."""
HALVING_INTERVAL = 210_000
"""Blocks between subsidy halvings [blocks]."""
RETARGET_INTERVAL = 2016
"""Blocks between difficulty retargets [blocks]."""
TARGET_BLOCK_S = 600
"""Target block spacing [s]."""
SECONDS_PER_DAY = 86_400
TH_PER_PH = 1000

SATOSHI_PER_BTC = 100_000_000
INITIAL_SUBSIDY_SAT = 50 * SATOSHI_PER_BTC
MAX_HALVINGS = 64
"""After 64 halvings the subsidy is 0 (Bitcoin Core short-cuts the shift there) [2]_."""
HASHES_PER_DIFFICULTY = 2**32
"""Expected hashes per block at difficulty 1 (2^256 / target at difficulty 1 ~ 2^32)."""
KWH_PER_WH_DAY = 0.024
"""kWh per day drawn per W: 24 h x 1e-3 kWh/Wh."""
RETARGET_CLAMP = (0.25, 4.0)
"""Bounds of the difficulty adjustment factor [-]."""
SHARE_TOLERANCE = 1e-6

FloatOrArray = float | np.ndarray
TimeLike = dt.date | dt.datetime | pd.Timestamp | str


# --------------------------------------------------------------------------- helpers


def _out(value: npt.ArrayLike) -> FloatOrArray:
    """A float for 0-d results, the array otherwise."""
    arr = np.asarray(value, dtype=float)
    return float(arr) if arr.ndim == 0 else arr


def _floats(name: str, value: npt.ArrayLike) -> np.ndarray:
    try:
        return np.asarray(value, dtype=float)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be a number or an array of numbers") from err


def _non_negative(name: str, value: npt.ArrayLike, unit: str) -> np.ndarray:
    arr = _floats(name, value)
    # NaN is missing data, not a non-physical value: it propagates, as in numpy.
    if np.any(arr < 0):
        raise ValueError(f"{name} must be >= 0 {unit} (got {_show(arr[arr < 0])})")
    return arr


def _positive(name: str, value: npt.ArrayLike, unit: str) -> np.ndarray:
    arr = _floats(name, value)
    if np.any(arr <= 0):
        raise ValueError(f"{name} must be > 0 {unit} (got {_show(arr[arr <= 0])})")
    return arr


def _pool_fee(value: npt.ArrayLike) -> np.ndarray:
    arr = _floats("pool_fee_share", value)
    if np.any((arr < 0) | (arr >= 1)):
        raise ValueError(f"pool_fee_share must be in [0, 1) [-] (got {_show(arr)})")
    return arr


def _pue(value: npt.ArrayLike) -> np.ndarray:
    arr = _floats("pue", value)
    if np.any(arr < 1):
        raise ValueError(f"PUE must be >= 1 [-] (got {_show(arr[arr < 1])})")
    return arr


def _heights(name: str, value: npt.ArrayLike) -> np.ndarray:
    arr = np.asarray(value)
    if arr.dtype.kind not in "iu":
        as_float = _floats(name, arr)
        if not np.all(np.isfinite(as_float)) or np.any(as_float != np.floor(as_float)):
            raise ValueError(f"{name} must be a whole block height (got {_show(arr)})")
    arr = arr.astype(np.int64)
    if np.any(arr < 0):
        raise ValueError(f"{name} must be >= 0 [blocks] (got {_show(arr[arr < 0])})")
    return arr


def _show(arr: np.ndarray) -> str:
    flat = np.ravel(arr)
    head = ", ".join(f"{v:g}" for v in flat[:3])
    return head + (", ..." if flat.size > 3 else "")


def _timestamp(name: str, value: TimeLike) -> pd.Timestamp:
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be a date or time (got {value!r})") from err
    if stamp is pd.NaT:
        raise ValueError(f"{name} must be a date or time (got {value!r})")
    return stamp


# ------------------------------------------------------------------ subsidy and time


def block_subsidy_btc(height: int | npt.ArrayLike) -> FloatOrArray:
    """Block subsidy at a block height [BTC].

    Parameters
    ----------
    height : int or array_like of int
        Block height [blocks], >= 0.

    Returns
    -------
    float or numpy.ndarray
        Subsidy of the block at ``height`` [BTC].

    Notes
    -----
    The subsidy is integer satoshis shifted right once per halving [2]_:

    .. math:: s_{sat} = \\lfloor 50 \\cdot 10^8 / 2^{\\lfloor h / 210000 \\rfloor} \\rfloor

    and 0 after 64 halvings. It is 3.125 BTC from block 840,000 until block 1,049,999,
    then 1.5625 BTC.

    References
    ----------
    .. [1] Nakamoto, S. (2008). Bitcoin: A Peer-to-Peer Electronic Cash System.
    .. [2] Bitcoin Core, ``src/validation.cpp``, ``GetBlockSubsidy``.
    """
    halvings = _heights("height", height) // HALVING_INTERVAL
    # A shift by >= 64 bits is undefined in C and numpy alike, so clamp before shifting.
    shifted = np.right_shift(np.int64(INITIAL_SUBSIDY_SAT), np.minimum(halvings, MAX_HALVINGS - 1))
    subsidy_sat = np.where(halvings >= MAX_HALVINGS, 0, shifted)
    return _out(subsidy_sat / SATOSHI_PER_BTC)


def halving_heights(after_height: int | npt.ArrayLike, count: int = 1) -> list[int] | np.ndarray:
    """The next ``count`` halving heights strictly after ``after_height`` [blocks].

    Parameters
    ----------
    after_height : int or array_like of int
        Block height [blocks], >= 0. A halving at exactly this height is not included.
    count : int, default 1
        How many halving heights to return [-], >= 1.

    Returns
    -------
    list of int or numpy.ndarray of int
        A list of ``count`` heights for a scalar height; an array of shape
        ``(*shape, count)`` for an array of heights.

    Notes
    -----
    Halvings fall at every multiple of 210,000 blocks [1]_:
    :math:`h_k = 210000 \\, (\\lfloor h / 210000 \\rfloor + k)`, k = 1 .. count.

    References
    ----------
    .. [1] Bitcoin Core, ``src/kernel/chainparams.cpp``, ``nSubsidyHalvingInterval``.
    """
    if int(count) != count or count < 1:
        raise ValueError(f"count must be a whole number >= 1 (got {count!r})")
    base = _heights("after_height", after_height) // HALVING_INTERVAL
    steps = np.arange(1, int(count) + 1, dtype=np.int64)
    heights = (base[..., None] + steps) * HALVING_INTERVAL
    return [int(h) for h in heights] if base.ndim == 0 else heights


def estimate_block_time(
    height_now: int | npt.ArrayLike,
    time_now: TimeLike,
    height_target: int | npt.ArrayLike,
    mean_block_s: float | npt.ArrayLike = 600.0,
) -> pd.Timestamp | pd.DatetimeIndex:
    """Estimated time a block height is reached, linear in blocks.

    Parameters
    ----------
    height_now : int or array_like of int
        Block height at ``time_now`` [blocks].
    time_now : datetime, date, pandas.Timestamp or str
        Time at which the chain is at ``height_now``.
    height_target : int or array_like of int
        Height whose time to estimate [blocks]; below ``height_now`` gives a past time.
    mean_block_s : float or array_like, default 600.0
        Mean block spacing over the interval [s], > 0.

    Returns
    -------
    pandas.Timestamp or pandas.DatetimeIndex
        A Timestamp for scalar inputs, a DatetimeIndex (flattened) otherwise.

    Notes
    -----
    .. math:: t = t_{now} + (h_{target} - h_{now}) \\, \\bar{\\tau}

    The retarget keeps the mean spacing at 600 s only for a constant hashrate: while
    hashrate grows, blocks come faster than 600 s until the next retarget catches up, so
    the mean is slightly under 600 s (e.g. ~3 % hashrate growth per 2,016-block epoch
    gives ~583 s) and a halving arrives earlier than the 600 s estimate. Pass the mean
    observed over recent epochs to account for it. The next halving, block 1,050,000,
    is expected between late March and mid April 2028.

    References
    ----------
    .. [1] Nakamoto, S. (2008). Bitcoin: A Peer-to-Peer Electronic Cash System.
    """
    start = _timestamp("time_now", time_now)
    blocks = _heights("height_target", height_target) - _heights("height_now", height_now)
    seconds = blocks * _positive("mean_block_s", mean_block_s, "[s]")
    if np.ndim(seconds) == 0:
        return start + pd.Timedelta(seconds=float(seconds))
    return pd.DatetimeIndex(start + pd.to_timedelta(np.ravel(seconds), unit="s"))


def next_halving(
    height_now: int | npt.ArrayLike,
    time_now: TimeLike,
    mean_block_s: float | npt.ArrayLike = 600.0,
) -> tuple[int | np.ndarray, pd.Timestamp | pd.DatetimeIndex]:
    """The next halving's height [blocks] and estimated time.

    Parameters
    ----------
    height_now : int or array_like of int
        Block height at ``time_now`` [blocks].
    time_now : datetime, date, pandas.Timestamp or str
        Time at which the chain is at ``height_now``.
    mean_block_s : float or array_like, default 600.0
        Mean block spacing until the halving [s], > 0 (see ``estimate_block_time``).

    Returns
    -------
    height : int or numpy.ndarray of int
        First halving height strictly after ``height_now`` [blocks].
    estimated_time : pandas.Timestamp or pandas.DatetimeIndex
        Its estimated time.

    Notes
    -----
    :math:`h = 210000 \\, (\\lfloor h_{now} / 210000 \\rfloor + 1)`, timed by
    ``estimate_block_time``. From any height in 840,000 .. 1,049,999 it is 1,050,000.

    References
    ----------
    .. [1] Bitcoin Core, ``src/validation.cpp``, ``GetBlockSubsidy``.
    """
    height = np.asarray(halving_heights(height_now, 1))[..., 0]
    when = estimate_block_time(height_now, time_now, height, mean_block_s)
    return (int(height) if height.ndim == 0 else height), when


# ------------------------------------------------------------------------- hashprice


def hashrate_from_difficulty_th_s(
    difficulty: float | npt.ArrayLike, blocks_per_day: float | npt.ArrayLike = BLOCKS_PER_DAY
) -> FloatOrArray:
    """Network hashrate that finds ``blocks_per_day`` blocks a day at a difficulty [TH/s].

    Parameters
    ----------
    difficulty : float or array_like
        Mining difficulty [-], > 0.
    blocks_per_day : float or array_like, default 144
        Blocks found per day [blocks/day], > 0 (144 at the 600 s target).

    Returns
    -------
    float or numpy.ndarray
        Hashrate [TH/s].

    Notes
    -----
    A block at difficulty D takes D x 2^32 hashes on average (exactly
    D x 2^256 / (0xffff x 2^208), 1.5e-5 more), so

    .. math:: H = N_{day} \\, D \\cdot 2^{32} / 86400 / 10^{12}

    E.g. D = 148.26e12 at 144 blocks a day gives ~1.061e9 TH/s (1,061 EH/s).

    References
    ----------
    .. [1] Bitcoin Core, ``src/rpc/blockchain.cpp``, ``GetDifficulty``.
    """
    d = _positive("difficulty", difficulty, "[-]")
    n = _positive("blocks_per_day", blocks_per_day, "[blocks/day]")
    return _out(n * d * HASHES_PER_DIFFICULTY / SECONDS_PER_DAY / 1e12)


@dataclass(frozen=True)
class Hashprice:
    """What one TH/s earns per day before pool fees, and the subsidy it rests on.

    Attributes
    ----------
    subsidy_btc : float or numpy.ndarray
        Block subsidy at the block height [BTC/block].
    btc_per_th_day : float or numpy.ndarray
        Hashprice [BTC/(TH/s)/day].
    usd_per_th_day : float or numpy.ndarray
        Hashprice [USD/(TH/s)/day].
    """

    subsidy_btc: FloatOrArray
    btc_per_th_day: FloatOrArray
    usd_per_th_day: FloatOrArray

    @property
    def btc_per_ph_day(self) -> FloatOrArray:
        """Hashprice [BTC/(PH/s)/day]."""
        return _out(np.asarray(self.btc_per_th_day) * TH_PER_PH)

    @property
    def usd_per_ph_day(self) -> FloatOrArray:
        """Hashprice [USD/(PH/s)/day], the unit hashprice indices quote."""
        return _out(np.asarray(self.usd_per_th_day) * TH_PER_PH)


def hashprice(
    height: int | npt.ArrayLike,
    btc_price_usd: float | npt.ArrayLike,
    fees_btc_per_block: float | npt.ArrayLike,
    *,
    difficulty: float | npt.ArrayLike | None = None,
    network_hashrate_th_s: float | npt.ArrayLike | None = None,
    blocks_per_day: float | npt.ArrayLike | None = None,
) -> Hashprice:
    """Hashprice from the market inputs: the one place a hash is priced.

    Give exactly one of ``difficulty`` (the protocol-exact form) or
    ``network_hashrate_th_s`` (with ``blocks_per_day``).

    Parameters
    ----------
    height : int or array_like of int
        Block height [blocks], >= 0: the subsidy is derived from it
        (``block_subsidy_btc``), never typed.
    btc_price_usd : float or array_like
        Bitcoin price [USD/BTC], > 0.
    fees_btc_per_block : float or array_like
        Mean transaction fees per block [BTC/block], >= 0.
    difficulty : float or array_like, optional
        Mining difficulty [-], > 0.
    network_hashrate_th_s : float or array_like, optional
        Network hashrate [TH/s], > 0.
    blocks_per_day : float or array_like, optional
        Blocks found per day [blocks/day], > 0; only with ``network_hashrate_th_s``
        (default 144, the 600 s target). At a given difficulty the revenue per hash does
        not depend on how many blocks are found, so it is refused with ``difficulty``.

    Returns
    -------
    Hashprice
        subsidy_btc [BTC/block], btc_per_th_day, usd_per_th_day (and the per-PH/s
        properties), broadcast over the inputs.

    Notes
    -----
    A block at difficulty D takes D x 2^32 hashes on average [2]_, and pays the subsidy
    s(h) of its height plus the fees f [1]_, so one hash per second for a day
    (86,400 hashes) earns 86,400 (s + f) / (D 2^32) BTC; per TH/s:

    .. math:: hp_{BTC} = \\frac{86400 \\cdot 10^{12} \\, (s(h) + f)}{D \\cdot 2^{32}},
       \\qquad hp_{USD} = P \\, hp_{BTC}

    With a hashrate H [TH/s] that finds N blocks a day (N = 144 at the 600 s target),
    the network earns N (s + f) a day split over H [3]_:

    .. math:: hp_{BTC} = N \\, (s(h) + f) / H

    the same number when H = N D 2^32 / 86400 / 10^{12}
    (``hashrate_from_difficulty_th_s``). A hashrate estimated from one day's blocks
    must go with that day's N; with the expected N = 144 it needs the hashrate the
    difficulty implies.

    Check value, 28 Dec 2025: P = $87,748, f = 2.155 BTC / 155 blocks, h = 929,000
    (s = 3.125 BTC), D = 148.26e12 gives 0.03737 USD/(TH/s)/day = $37.4/PH/day.

    References
    ----------
    .. [1] Bitcoin Core, ``src/validation.cpp``, ``GetBlockSubsidy``.
    .. [2] Bitcoin Core, ``src/rpc/blockchain.cpp``, ``GetDifficulty`` (difficulty 1 is
       a target of 0xffff x 2^208, ~2^32 expected hashes).
    .. [3] Luxor Technology, Hashrate Index: hashprice methodology.
    """
    if (difficulty is None) == (network_hashrate_th_s is None):
        raise ValueError("give exactly one of difficulty and network_hashrate_th_s")
    subsidy = np.asarray(block_subsidy_btc(height), dtype=float)
    price = _positive("btc_price_usd", btc_price_usd, "[USD/BTC]")
    fees = _non_negative("fees_btc_per_block", fees_btc_per_block, "[BTC/block]")
    reward = subsidy + fees
    if difficulty is not None:
        if blocks_per_day is not None:
            raise ValueError(
                "blocks_per_day goes with network_hashrate_th_s: at a given difficulty "
                "the revenue per hash does not depend on the blocks found"
            )
        d = _positive("difficulty", difficulty, "[-]")
        btc = SECONDS_PER_DAY * 1e12 * reward / (d * HASHES_PER_DIFFICULTY)
    else:
        h = _positive("network_hashrate_th_s", network_hashrate_th_s, "[TH/s]")
        n = _positive(
            "blocks_per_day",
            BLOCKS_PER_DAY if blocks_per_day is None else blocks_per_day,
            "[blocks/day]",
        )
        btc = n * reward / h
    # copies: broadcast views are read-only and may alias one input several times
    subsidy, btc, usd = (np.array(a) for a in np.broadcast_arrays(subsidy, btc, price * btc))
    return Hashprice(subsidy_btc=_out(subsidy), btc_per_th_day=_out(btc), usd_per_th_day=_out(usd))


def retarget_difficulty(
    difficulty: float | npt.ArrayLike, actual_timespan_s: float | npt.ArrayLike
) -> FloatOrArray:
    """Difficulty after a retarget [-].

    Parameters
    ----------
    difficulty : float or array_like
        Difficulty of the ending 2,016-block epoch [-], > 0.
    actual_timespan_s : float or array_like
        Time the epoch's 2,016 blocks took [s], > 0.

    Returns
    -------
    float or numpy.ndarray
        New difficulty [-].

    Notes
    -----
    .. math:: D' = D \\cdot \\mathrm{clip}(T_{target} / T_{actual}, 0.25, 4),
       \\quad T_{target} = 2016 \\times 600 \\text{ s} = 20160 \\text{ min}

    Bitcoin Core clamps the timespan to [T/4, 4T], which is the same thing; it also
    measures the timespan over 2,015 intervals (a known off-by-one), ignored here.

    References
    ----------
    .. [1] Bitcoin Core, ``src/pow.cpp``, ``CalculateNextWorkRequired``.
    """
    d = _positive("difficulty", difficulty, "[-]")
    actual = _positive("actual_timespan_s", actual_timespan_s, "[s]")
    factor = np.clip(RETARGET_INTERVAL * TARGET_BLOCK_S / actual, *RETARGET_CLAMP)
    return _out(d * factor)


# ---------------------------------------------------------------- per MWh at the meter


def break_even_usd_per_mwh(
    hashprice_usd_per_th_day: float | npt.ArrayLike,
    efficiency_j_per_th: float | npt.ArrayLike,
    pool_fee_share: float | npt.ArrayLike = 0.0,
    pue: float | npt.ArrayLike = 1.0,
) -> FloatOrArray:
    """Power price at the meter at which mining breaks even [USD/MWh].

    Parameters
    ----------
    hashprice_usd_per_th_day : float or array_like
        Hashprice [USD/(TH/s)/day], >= 0.
    efficiency_j_per_th : float or array_like
        ASIC efficiency [J/TH] (= W per TH/s), > 0.
    pool_fee_share : float or array_like, default 0.0
        Share of revenue kept by the pool [-], in [0, 1).
    pue : float or array_like, default 1.0
        Site power / ASIC power [-], >= 1 (e.g. 1.05 for air-cooling fans and losses).

    Returns
    -------
    float or numpy.ndarray
        Break-even power price at the grid meter [USD/MWh].

    Notes
    -----
    One TH/s draws e W, i.e. 0.024 e kWh per day (24 h x 1e-3 kWh/Wh), so

    .. math:: p^* = \\frac{hp \\, (1 - f_{pool})}{0.024 \\, e} \\, \\frac{1000}{PUE}

    [USD/MWh]. At this price revenue minus power cost is zero; it is also the revenue a
    MWh at the meter earns (``revenue_usd_per_mwh``), hence the miner's bid. Hardware,
    hosting and staff are not in it: it is the threshold for running, not for investing.

    References
    ----------
    .. [1] Luxor Technology, Hashrate Index: hashprice methodology.
    .. [2] Majumder et al. (2026): miners' curtailment threshold is a function of
       hashprice.
    """
    hp = _non_negative("hashprice_usd_per_th_day", hashprice_usd_per_th_day, "[USD/TH/day]")
    e = _positive("efficiency_j_per_th", efficiency_j_per_th, "[J/TH]")
    fee = _pool_fee(pool_fee_share)
    site = _pue(pue)
    return _out(hp * (1.0 - fee) / (KWH_PER_WH_DAY * e) * 1000.0 / site)


def revenue_usd_per_mwh(
    hashprice_usd_per_th_day: float | npt.ArrayLike,
    efficiency_j_per_th: float | npt.ArrayLike,
    pool_fee_share: float | npt.ArrayLike = 0.0,
    pue: float | npt.ArrayLike = 1.0,
) -> FloatOrArray:
    """Mining revenue per MWh at the grid meter [USD/MWh].

    Parameters
    ----------
    hashprice_usd_per_th_day : float or array_like
        Hashprice [USD/(TH/s)/day], >= 0.
    efficiency_j_per_th : float or array_like
        ASIC efficiency [J/TH], > 0.
    pool_fee_share : float or array_like, default 0.0
        Share of revenue kept by the pool [-], in [0, 1).
    pue : float or array_like, default 1.0
        Site power / ASIC power [-], >= 1.

    Returns
    -------
    float or numpy.ndarray
        Revenue per MWh consumed at the meter [USD/MWh].

    Notes
    -----
    .. math:: r = \\frac{hp \\, (1 - f_{pool}) \\cdot 10^6}{24 \\, e \\, PUE}

    Identical to ``break_even_usd_per_mwh``: at a power price equal to the revenue per
    MWh, profit is zero.

    References
    ----------
    .. [1] Luxor Technology, Hashrate Index: hashprice methodology.
    """
    return break_even_usd_per_mwh(
        hashprice_usd_per_th_day, efficiency_j_per_th, pool_fee_share, pue
    )


def btc_per_mwh(
    hashprice_btc_per_th_day: float | npt.ArrayLike,
    efficiency_j_per_th: float | npt.ArrayLike,
    pool_fee_share: float | npt.ArrayLike = 0.0,
    pue: float | npt.ArrayLike = 1.0,
) -> FloatOrArray:
    """BTC mined (after pool fees) per MWh consumed at the meter [BTC/MWh].

    Parameters
    ----------
    hashprice_btc_per_th_day : float or array_like
        Hashprice [BTC/(TH/s)/day], >= 0.
    efficiency_j_per_th : float or array_like
        ASIC efficiency [J/TH], > 0.
    pool_fee_share : float or array_like, default 0.0
        Share of revenue kept by the pool [-], in [0, 1).
    pue : float or array_like, default 1.0
        Site power / ASIC power [-], >= 1.

    Returns
    -------
    float or numpy.ndarray
        BTC per MWh [BTC/MWh].

    Notes
    -----
    .. math:: b = \\frac{hp_{BTC} \\, (1 - f_{pool}) \\cdot 10^6}{24 \\, e \\, PUE}

    References
    ----------
    .. [1] Luxor Technology, Hashrate Index: hashprice methodology.
    """
    hp = _non_negative("hashprice_btc_per_th_day", hashprice_btc_per_th_day, "[BTC/TH/day]")
    e = _positive("efficiency_j_per_th", efficiency_j_per_th, "[J/TH]")
    fee = _pool_fee(pool_fee_share)
    site = _pue(pue)
    return _out(hp * (1.0 - fee) / (KWH_PER_WH_DAY * e) * 1000.0 / site)


# ------------------------------------------------------------------ catalogue, fleets


def load_asic_catalogue(path: str | Path | None = None) -> pd.DataFrame:
    """ASIC catalogue indexed by model.

    Parameters
    ----------
    path : str or pathlib.Path, optional
        A CSV with columns model, hashrate_th_s [TH/s], power_w [W],
        efficiency_j_per_th [J/TH], price_usd [USD/unit] (and source, basis, notes).
        Default: the packaged ``megawatt/data/asics.csv`` (nameplates; prices are
        estimates, see its notes).

    Returns
    -------
    pandas.DataFrame
        Indexed by model.

    Notes
    -----
    Each row's efficiency must match power / hashrate within 3 %:
    :math:`|e - W / TH| \\le 0.03 \\, W / TH`, so a typo in either shows.

    References
    ----------
    .. [1] Bitmain and MicroBT nameplates (source id ``asic-specs``).
    """
    source = (
        Path(path) if path else Path(str(resources.files("megawatt.data").joinpath("asics.csv")))
    )
    return read_asic_catalogue(source)


@dataclass(frozen=True)
class Fleet:
    """An ASIC fleet sized from a power allocation at the meter.

    Attributes
    ----------
    power_mw : float
        Allocation at the grid meter [MW].
    pue : float
        Site power / ASIC power [-].
    models : pandas.DataFrame
        Indexed by model: share (of power) [-], it_power_mw (allocated ASIC power) [MW],
        units (whole ASICs) [-], asic_power_mw (drawn by the units) [MW],
        hashrate_th_s [TH/s], efficiency_j_per_th [J/TH], capex_usd [USD].
    hashrate_th_s : float
        Total hashrate [TH/s].
    efficiency_j_per_th : float
        Power-weighted efficiency = total ASIC W / total TH/s [J/TH].
    capex_usd : float
        ASIC purchase cost [USD] (no site, cooling or electrical works).
    """

    power_mw: float
    pue: float
    models: pd.DataFrame = field(compare=False, repr=False)
    hashrate_th_s: float
    efficiency_j_per_th: float
    capex_usd: float

    @property
    def units(self) -> int:
        """Total ASICs [-]."""
        return int(self.models.units.sum())

    @property
    def asic_power_mw(self) -> float:
        """Power drawn by the ASICs at full load [MW] (x PUE at the meter)."""
        return float(self.models.asic_power_mw.sum())

    @property
    def power_weights(self) -> pd.Series:
        """Each model's share of the power the fleet draws [-].

        The units' own draw where there are units (whole ASICs make it differ from the
        mix by under one unit per model), the mix's shares for a fleet too small for one.
        """
        drawn = self.models.asic_power_mw
        total = drawn.sum()
        return drawn / total if total > 0 else self.models.share.copy()


def fleet_from_mix(
    power_mw: float,
    mix: Sequence[tuple[str, float]],
    catalogue: pd.DataFrame,
    pue: float = 1.0,
) -> Fleet:
    """Size a fleet of ASIC models sharing a power allocation.

    Parameters
    ----------
    power_mw : float
        Allocation at the grid meter [MW], > 0.
    mix : sequence of (str, float)
        (model, share of power [-]) pairs; models from ``catalogue``, shares >= 0
        summing to 1 (within 1e-6).
    catalogue : pandas.DataFrame
        From ``load_asic_catalogue``.
    pue : float, default 1.0
        Site power / ASIC power [-], >= 1.

    Returns
    -------
    Fleet

    Notes
    -----
    Per model i: allocated ASIC power :math:`P_i = P \\, s_i / PUE`, units
    :math:`n_i = \\lfloor P_i / W_i \\rfloor`, hashrate :math:`n_i \\, TH_i`,
    capex :math:`n_i \\, c_i`. Fleet efficiency
    :math:`e = \\sum n_i W_i / \\sum n_i TH_i` (power-weighted; for a fleet too small for
    one unit, :math:`1 / \\sum (s_i / e_i)`).

    References
    ----------
    .. [1] Bitmain and MicroBT nameplates (source id ``asic-specs``).
    """
    if not np.isscalar(power_mw) or not float(power_mw) > 0:
        raise ValueError(f"power_mw must be a number > 0 [MW] (got {power_mw!r})")
    site = float(_pue(pue))
    if not mix:
        raise ValueError("the ASIC mix is empty")
    models = [str(model) for model, _ in mix]
    unknown = [m for m in models if m not in catalogue.index]
    if unknown:
        raise ValueError(
            f"unknown ASIC model(s) {', '.join(map(repr, unknown))}; "
            f"known: {', '.join(map(str, catalogue.index))}"
        )
    repeated = sorted({m for m in models if models.count(m) > 1})
    if repeated:
        raise ValueError(f"ASIC model(s) listed twice in the mix: {', '.join(repeated)}")
    shares = np.array([float(share) for _, share in mix])
    if np.any(shares < 0) or not np.all(np.isfinite(shares)):
        raise ValueError(f"ASIC mix shares must be >= 0 [-] (got {_show(shares)})")
    if abs(shares.sum() - 1.0) > SHARE_TOLERANCE:
        raise ValueError(f"ASIC mix shares must sum to 1 (they sum to {shares.sum():g})")

    spec = catalogue.loc[models]
    it_power_mw = float(power_mw) * shares / site
    # The tiny epsilon keeps an exact fit (e.g. 3.5 MW of 3,500 W units) from flooring
    # one unit short on rounding.
    units = np.floor(it_power_mw * 1e6 / spec.power_w.to_numpy() + 1e-9).astype(np.int64)
    table = pd.DataFrame(
        {
            "share": shares,
            "it_power_mw": it_power_mw,
            "units": units,
            "asic_power_mw": units * spec.power_w.to_numpy() / 1e6,
            "hashrate_th_s": units * spec.hashrate_th_s.to_numpy(),
            "efficiency_j_per_th": (spec.power_w / spec.hashrate_th_s).to_numpy(),
            "capex_usd": units * spec.price_usd.to_numpy(),
        },
        index=pd.Index(models, name="model"),
    )
    hashrate = float(table.hashrate_th_s.sum())
    if hashrate > 0:
        efficiency = float(table.asic_power_mw.sum() * 1e6 / hashrate)
    else:
        efficiency = float(1.0 / np.sum(shares / table.efficiency_j_per_th.to_numpy()))
    return Fleet(
        power_mw=float(power_mw),
        pue=site,
        models=table,
        hashrate_th_s=hashrate,
        efficiency_j_per_th=efficiency,
        capex_usd=float(table.capex_usd.sum()),
    )


def miner_value_usd_per_mwh(
    fleet: Fleet,
    hashprice_usd_per_th_day: float | npt.ArrayLike,
    pool_fee_share: float | npt.ArrayLike = 0.0,
) -> FloatOrArray:
    """What a MWh at the grid meter is worth to a fleet: its bid [USD/MWh].

    Parameters
    ----------
    fleet : Fleet
        From ``fleet_from_mix`` (its PUE applies).
    hashprice_usd_per_th_day : float or array_like
        Hashprice [USD/(TH/s)/day], >= 0.
    pool_fee_share : float or array_like, default 0.0
        Share of revenue kept by the pool [-], in [0, 1).

    Returns
    -------
    float or numpy.ndarray
        Value per MWh at the meter [USD/MWh], shaped like the hashprice.

    Notes
    -----
    A MWh splits among the models by their share of power w_i, so

    .. math:: v = \\sum_i w_i \\, \\frac{hp \\, (1 - f_{pool}) \\cdot 10^6}{24 \\, e_i \\, PUE}

    which equals the break-even at the fleet's power-weighted efficiency. The miner
    draws only in hours where the tariff is at or below v, so its response to the
    tariff shifts with hashprice [1]_.

    References
    ----------
    .. [1] Majumder et al. (2026): miners' curtailment threshold is a function of
       hashprice.
    """
    hp = _non_negative("hashprice_usd_per_th_day", hashprice_usd_per_th_day, "[USD/TH/day]")
    fee = _pool_fee(pool_fee_share)
    weights = fleet.power_weights.to_numpy()
    efficiency = fleet.models.efficiency_j_per_th.to_numpy()
    per_model = break_even_usd_per_mwh(
        np.expand_dims(hp, -1), efficiency, np.expand_dims(fee, -1), fleet.pue
    )
    return _out(np.sum(per_model * weights, axis=-1))


@dataclass(frozen=True)
class MiningRevenue:
    """What a fleet earns from energy served.

    Attributes
    ----------
    btc_mined : float or numpy.ndarray
        BTC mined after pool fees [BTC].
    revenue_usd : float or numpy.ndarray
        Its value at the BTC price [USD].
    """

    btc_mined: FloatOrArray
    revenue_usd: FloatOrArray


def mining_revenue(
    served_mwh: float | npt.ArrayLike,
    fleet: Fleet,
    hashprice_btc_per_th_day: float | npt.ArrayLike,
    btc_price_usd: float | npt.ArrayLike,
    pool_fee_share: float | npt.ArrayLike = 0.0,
) -> MiningRevenue:
    """BTC and USD a fleet earns from energy served at the meter.

    Parameters
    ----------
    served_mwh : float or array_like
        Energy delivered at the meter [MWh], >= 0.
    fleet : Fleet
        From ``fleet_from_mix`` (its efficiency and PUE apply).
    hashprice_btc_per_th_day : float or array_like
        Hashprice [BTC/(TH/s)/day], >= 0.
    btc_price_usd : float or array_like
        Bitcoin price [USD/BTC], > 0.
    pool_fee_share : float or array_like, default 0.0
        Share of revenue kept by the pool [-], in [0, 1).

    Returns
    -------
    MiningRevenue

    Notes
    -----
    .. math:: BTC = E \\, \\frac{hp_{BTC} (1 - f_{pool}) \\cdot 10^6}{24 \\, e \\, PUE},
       \\quad USD = BTC \\cdot P

    with e the fleet's power-weighted efficiency.

    References
    ----------
    .. [1] Luxor Technology, Hashrate Index: hashprice methodology.
    """
    energy = _non_negative("served_mwh", served_mwh, "[MWh]")
    price = _positive("btc_price_usd", btc_price_usd, "[USD/BTC]")
    btc = energy * btc_per_mwh(
        hashprice_btc_per_th_day, fleet.efficiency_j_per_th, pool_fee_share, fleet.pue
    )
    return MiningRevenue(btc_mined=_out(btc), revenue_usd=_out(btc * price))


# ---------------------------------------------------------------------- market paths


def hashprice_path(
    dates: pd.DatetimeIndex,
    btc_price_usd: float | npt.ArrayLike,
    network_hashrate_th_s: float | npt.ArrayLike,
    fees_btc_per_block: float | npt.ArrayLike,
    height_now: int,
    time_now: TimeLike,
    mean_block_s: float = 600.0,
) -> pd.DataFrame:
    """Hashprice along a path of dates, with the subsidy of each date's block height.

    Parameters
    ----------
    dates : pandas.DatetimeIndex
        Dates of the path.
    btc_price_usd : float or array_like
        Bitcoin price per date [USD/BTC], > 0 (scalar or one per date).
    network_hashrate_th_s : float or array_like
        Network hashrate per date [TH/s], > 0.
    fees_btc_per_block : float or array_like
        Mean fees per block per date [BTC/block], >= 0.
    height_now : int
        Block height at ``time_now`` [blocks].
    time_now : datetime, date, pandas.Timestamp or str
        Reference time. If exactly one of it and ``dates`` has a time zone, the other
        is read as UTC.
    mean_block_s : float, default 600.0
        Mean block spacing [s], > 0 (see ``estimate_block_time``): it times the heights
        and gives the blocks found per day, 86,400 / mean_block_s.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``dates``: block_height [blocks], subsidy_btc [BTC/block],
        hashprice_btc_per_th_day [BTC/(TH/s)/day], hashprice_usd_per_th_day
        [USD/(TH/s)/day].

    Notes
    -----
    .. math:: h(t) = h_{now} + \\lfloor (t - t_{now}) / \\bar{\\tau} \\rfloor, \\quad
       hp(t) = P(t) \\, N \\, (s(h(t)) + f(t)) / H(t), \\quad N = 86400 / \\bar{\\tau}

    each date priced by ``hashprice`` (hashrate form), so the subsidy halves on the date
    the halving height is estimated to be reached (block 1,050,000: spring 2028 at
    600 s).

    References
    ----------
    .. [1] Luxor Technology, Hashrate Index: hashprice methodology.
    """
    index = pd.DatetimeIndex(dates)
    start = _timestamp("time_now", time_now)
    if (index.tz is None) != (start.tz is None):
        if index.tz is None:
            index_utc, start_utc = index.tz_localize("UTC"), start
        else:
            index_utc, start_utc = index, start.tz_localize("UTC")
    else:
        index_utc, start_utc = index, start
    spacing = float(_positive("mean_block_s", mean_block_s, "[s]"))
    base = int(_heights("height_now", height_now))
    elapsed_s = (index_utc - start_utc).total_seconds().to_numpy()
    heights = base + np.floor(elapsed_s / spacing).astype(np.int64)
    if np.any(heights < 0):
        raise ValueError("a date of the path falls before block 0 at this mean block time")
    n = len(index)
    try:
        price, hashrate, fees = (
            np.broadcast_to(_floats(name, v), (n,))
            for name, v in (
                ("btc_price_usd", btc_price_usd),
                ("network_hashrate_th_s", network_hashrate_th_s),
                ("fees_btc_per_block", fees_btc_per_block),
            )
        )
    except ValueError as err:
        raise ValueError(f"path inputs must be scalars or have one value per date ({n})") from err
    hp = hashprice(
        heights,
        price,
        fees,
        network_hashrate_th_s=hashrate,
        blocks_per_day=SECONDS_PER_DAY / spacing,
    )
    return pd.DataFrame(
        {
            "block_height": heights,
            "subsidy_btc": np.atleast_1d(hp.subsidy_btc),
            "hashprice_btc_per_th_day": np.atleast_1d(hp.btc_per_th_day),
            "hashprice_usd_per_th_day": np.atleast_1d(hp.usd_per_th_day),
        },
        index=index,
    )
