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
import socket
import struct
from collections.abc import Callable, Iterator, Sequence
from typing import Any

#: Seconds ``--scheduler`` waits to connect, and then again for the scheduler's
#: handshake, before giving up with one line (a Dask scheduler answers at once).
SCHEDULER_TIMEOUT_S = 5.0

#: Largest first message a Dask scheduler's handshake may announce [bytes]; it is a
#: few hundred. Something else (an HTTP server: "HTTP/1.1" read as a length is 3.6e18)
#: would make Dask allocate that much memory.
MAX_HANDSHAKE_BYTES = 1 << 20

#: Dask's default scheduler port, used when ``--scheduler`` gives none.
DEFAULT_SCHEDULER_PORT = 8786


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
            probe_scheduler(address)
            try:
                self.client = Client(address, timeout=f"{SCHEDULER_TIMEOUT_S:g}s")
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


def _scheduler_error(address: str, problem: str):
    from megawatt.errors import InputError

    return InputError("--scheduler", address, problem)


def probe_scheduler(address: str, timeout: float | None = None) -> None:
    """Check that a Dask scheduler answers at ``address`` before Dask connects to it.

    Dask's client waits without limit at a listener that accepts but never answers,
    and reads an HTTP reply's first 8 bytes as a message length (gigabytes of memory);
    this probe gives up after ``timeout`` seconds (default
    :data:`SCHEDULER_TIMEOUT_S`) to connect and as long again for the
    scheduler's handshake (whose announced length must be small), with an InputError.
    Only ``tcp://`` addresses (and bare ``host:port``) are probed; other Dask schemes
    (``tls://``, ``ucx://``, ...) go to Dask as they are.
    """
    if timeout is None:
        timeout = SCHEDULER_TIMEOUT_S
    scheme, sep, rest = address.partition("://")
    if not sep:
        scheme, rest = "tcp", address
    if scheme != "tcp":
        return
    host, colon, port_text = rest.rstrip("/").rpartition(":")
    if not colon:
        host, port_text = rest.rstrip("/"), str(DEFAULT_SCHEDULER_PORT)
    host = host.strip("[]")
    if not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise _scheduler_error(address, "must be tcp://HOST:PORT (port 1-65535)")
    wait = f"{timeout:g} s"
    try:
        sock = socket.create_connection((host, int(port_text)), timeout=timeout)
    except TimeoutError:
        raise _scheduler_error(
            address, f"cannot reach a Dask scheduler there (no answer to connect within {wait})"
        ) from None
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise _scheduler_error(address, f"cannot reach a Dask scheduler there ({reason})") from None
    with sock:
        sock.settimeout(timeout)
        head = b""
        try:
            while len(head) < 8:
                chunk = sock.recv(8 - len(head))
                if not chunk:
                    break
                head += chunk
        except TimeoutError:
            raise _scheduler_error(
                address,
                "cannot reach a Dask scheduler there "
                f"(connected, but no Dask handshake within {wait})",
            ) from None
        except OSError as exc:
            raise _scheduler_error(address, f"connection failed ({exc.strerror})") from None
    if head.startswith(b"HTTP"[: len(head)]) and head:
        raise _scheduler_error(
            address,
            "answers HTTP, not the Dask protocol (a dashboard? the scheduler listens on "
            f"port {DEFAULT_SCHEDULER_PORT} by default)",
        )
    if len(head) < 8:
        raise _scheduler_error(address, "closed the connection without a Dask handshake")
    (length,) = struct.unpack("<Q", head)
    if not 0 < length <= MAX_HANDSHAKE_BYTES:
        raise _scheduler_error(
            address, f"does not speak the Dask protocol (announces a {length:,}-byte message)"
        )


def make_runner(scheduler: str | None = None, workers: int = 1) -> SerialRunner | DaskRunner:
    """A runner: Dask at ``scheduler``, else ``workers`` local processes (1 = serial)."""
    if scheduler:
        return DaskRunner(address=scheduler)
    if workers > 1:
        return DaskRunner(workers=workers)
    return SerialRunner()
