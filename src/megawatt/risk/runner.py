"""Where the LP tasks of a Monte Carlo run: in this process, local worker processes,
or a Dask distributed cluster.

Both runners have one small interface: ``put`` a value where tasks can use it,
``submit`` a task (its arguments may be handles of earlier tasks or puts, so large
results such as baselines stay on the workers and move worker to worker, never back
through the client), iterate ``completed`` handles with their index, and ``fetch`` a
result. All give identical results: the tasks are pure functions (see
:mod:`megawatt.risk.cases`) and the caller assembles results by index, not by
completion order.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from typing import Any


class _Lazy:
    """A task not run yet (serial runner): runs on first use, keeps its value."""

    _unset = object()

    def __init__(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self.fn, self.args, self._value = fn, args, self._unset

    def value(self) -> Any:
        if self._value is self._unset:
            args = tuple(a.value() if isinstance(a, _Lazy) else a for a in self.args)
            self._value = self.fn(*args)
            self.args = ()
        return self._value


class SerialRunner:
    """Run tasks one after another in this process, as they are iterated."""

    workers = 1
    description = "serial, this process"

    def put(self, value: Any) -> Any:
        return value

    def submit(self, fn: Callable[..., Any], *args: Any) -> _Lazy:
        return _Lazy(fn, args)

    def completed(self, handles: Sequence[_Lazy]) -> Iterator[int]:
        for i, handle in enumerate(handles):
            handle.value()
            yield i

    def fetch(self, handle: _Lazy) -> Any:
        return handle.value()

    def close(self) -> None:
        pass

    def __enter__(self) -> SerialRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class DaskRunner:
    """Run tasks on a Dask distributed cluster.

    ``address`` connects to a running scheduler (``tcp://host:8786``); without it a
    LocalCluster of ``workers`` single-threaded worker processes is started on
    127.0.0.1 (scheduler, workers and its HTTP endpoint listen on loopback only).
    """

    def __init__(self, address: str | None = None, workers: int = 2) -> None:
        from distributed import Client, LocalCluster

        self.cluster = None
        if address:
            try:
                self.client = Client(address, timeout="10s")
            except (OSError, TimeoutError, ValueError) as exc:
                from megawatt.errors import InputError

                raise InputError(
                    "--scheduler", address, f"cannot reach a Dask scheduler there ({exc})"
                ) from None
            self.description = f"Dask scheduler {address}"
        else:
            self.cluster = LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address="127.0.0.1:0",  # loopback, any free port
                silence_logs=logging.ERROR,
            )
            self.client = Client(self.cluster)
            self.description = f"{workers} local worker processes, Dask"
        self.workers = max(1, len(self.client.scheduler_info().get("workers", {})))

    def put(self, value: Any) -> Any:
        return self.client.scatter(value, broadcast=False)

    def submit(self, fn: Callable[..., Any], *args: Any) -> Any:
        return self.client.submit(fn, *args, pure=False)

    def completed(self, handles: Sequence[Any]) -> Iterator[int]:
        from distributed import as_completed

        index = {h.key: i for i, h in enumerate(handles)}
        for future in as_completed(list(handles)):
            yield index[future.key]

    def fetch(self, handle: Any) -> Any:
        return handle.result()

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()

    def __enter__(self) -> DaskRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def make_runner(scheduler: str | None = None, workers: int = 1) -> SerialRunner | DaskRunner:
    """A runner: Dask at ``scheduler``, else ``workers`` local processes (1 = serial)."""
    if scheduler:
        return DaskRunner(address=scheduler)
    if workers > 1:
        return DaskRunner(workers=workers)
    return SerialRunner()
