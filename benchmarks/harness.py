"""What every benchmark shares: the sandbox in its own process, phase measurement, tables and results.

The sandbox runs in a child process so that wall time, the Python heap (tracemalloc) and the peak
resident size (ru_maxrss) measure the reconciler's side only, the emulator using the other core as
a remote service would. Each size runs in a fresh client process too: ru_maxrss is a high-water mark
that never goes down, so a process that ran 50,000 records first would report that peak for 1,000.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import platform
import resource
import shutil
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from reconciler.connectors.secrets import Secret
from reconciler.connectors.settings import ExchangeAuth, ExchangeSettings, SalesforceAuth, SalesforceSettings

RESULTS_DIR = Path(__file__).resolve().parent / "results"
_SPAWN = multiprocessing.get_context("spawn")  # a clean interpreter: no threads or sockets inherited


def batches(records: int, batch_size: int) -> int:
    """Calls needed to move ``records`` in batches of ``batch_size`` (a listing of nothing still
    takes one call, so at least one)."""
    return max(1, math.ceil(records / batch_size))


# -- the sandbox in a child process ----------------------------------------------------------------

def _serve_sandbox(channel: Connection, data_dir: str, seed_args: dict[str, Any]) -> None:
    """Child process: generate the seed here (a 100k-contact seed is not worth pickling), start the
    sandbox, then answer ``counts`` / ``reset`` / ``stop`` requests on ``channel``."""
    from reconciler.sandbox.generate import generate_seed
    from reconciler.sandbox.server import Sandbox

    started = time.perf_counter()
    # No periodic flush: re-serialising a 50,000-record store every half second would compete with
    # the benchmark for the CPU. The data directory is there for endpoints.json and secrets/.
    sandbox = Sandbox(data_dir=data_dir, seed=generate_seed(**seed_args), flush_interval=24 * 3600)
    sandbox.start()
    channel.send({"endpoints": sandbox.endpoints(), "seconds": time.perf_counter() - started})
    try:
        while True:
            command = channel.recv()
            if command == "counts":
                channel.send({name: sandbox.counters.counts(name) for name in sandbox.services})
            elif command == "reset":
                sandbox.counters.reset()
                channel.send(None)
            elif command == "stop":
                break
    finally:
        sandbox.stop()
        channel.send(None)


class SandboxProcess:
    """A sandbox seeded by ``reconciler.sandbox.generate.generate_seed(**seed_args)`` in a child
    process, with its data directory (``endpoints.json``, ``secrets/``) under a temporary folder."""

    def __init__(self, **seed_args: Any) -> None:
        self.seed_args = seed_args
        self._tmp = tempfile.mkdtemp(prefix="reconciler-bench-")
        self.data_dir = Path(self._tmp) / "sandbox"
        self._channel, child = _SPAWN.Pipe()
        self._process = _SPAWN.Process(target=_serve_sandbox, args=(child, str(self.data_dir), seed_args),
                                       name="bench-sandbox")
        self.endpoints: dict[str, Any] = {}
        self.seed_seconds = 0.0

    def __enter__(self) -> "SandboxProcess":
        self._process.start()
        if not self._channel.poll(600):
            raise RuntimeError("the benchmark sandbox did not start within 10 minutes")
        ready = self._channel.recv()
        self.endpoints, self.seed_seconds = ready["endpoints"], ready["seconds"]
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if self._process.is_alive():
                self._channel.send("stop")
                self._channel.poll(120)
        finally:
            self._process.join(120)
            if self._process.is_alive():
                self._process.terminate()
            shutil.rmtree(self._tmp, ignore_errors=True)

    def counts(self) -> dict[str, dict[str, int]]:
        """Requests the sandbox answered since the last reset, by service and operation."""
        self._channel.send("counts")
        return self._channel.recv()

    def reset_counts(self) -> None:
        self._channel.send("reset")
        self._channel.recv()

    def secret(self, service: str, key: str) -> Secret:
        """A file reference to one of the credentials the sandbox wrote to ``secrets/``."""
        return Secret("file", str(self.data_dir / "secrets" / f"{service}.{key}"))

    def salesforce_settings(self) -> SalesforceSettings:
        """JWT bearer as the integration user: the login a production org would use."""
        salesforce = self.endpoints["salesforce"]
        return SalesforceSettings(
            instance_url=salesforce["instanceUrl"], login_url=salesforce["loginUrl"],
            api_version=salesforce["apiVersion"], ca_file=Path(self.endpoints["caFile"]),
            auth=SalesforceAuth(type="jwt_bearer", client_id=salesforce["credentials"]["clientId"],
                                username=salesforce["credentials"]["username"],
                                private_key=self.secret("salesforce", "jwtPrivateKey")))

    def exchange_settings(self) -> ExchangeSettings:
        """The impersonating service account: on-premises Exchange, where EWS stays."""
        exchange = self.endpoints["exchange"]
        return ExchangeSettings(
            ews_url=exchange["ewsUrl"], domains=tuple(exchange["domains"]), ca_file=Path(self.endpoints["caFile"]),
            auth=ExchangeAuth(type="service_account", username=exchange["credentials"]["serviceAccountUsername"],
                              password=self.secret("exchange", "serviceAccountPassword")))


# -- measuring a phase -----------------------------------------------------------------------------

@dataclass
class Phase:
    """One measured step: the calls the sandbox answered during it, the lower bound batch sizes
    allow, and the client process's time and memory."""

    name: str
    records: int
    lower_bound: int
    bound_rule: str
    calls: dict[str, int] = field(default_factory=dict)   # "service.operation" -> requests
    wall_seconds: float = 0.0
    heap_peak_mb: float = 0.0       # tracemalloc peak during the phase (Python objects only)
    max_rss_mb: float = 0.0         # the process's resident high-water mark at the phase's end

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "total_calls": self.total_calls}


def _max_rss_mb() -> float:
    # ru_maxrss is in KiB on Linux (bytes on macOS).
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20


@contextmanager
def measured(sandbox: SandboxProcess, phase: Phase) -> Iterator[Phase]:
    """Measure the block into ``phase``. tracemalloc slows allocation-heavy code, so the wall time
    includes its overhead; the call counts, the point of these benchmarks, do not depend on it."""
    sandbox.reset_counts()
    tracemalloc.start()
    started = time.perf_counter()
    try:
        yield phase
    finally:
        phase.wall_seconds = time.perf_counter() - started
        phase.heap_peak_mb = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        phase.max_rss_mb = _max_rss_mb()
        phase.calls = {f"{service}.{operation}": n for service, ops in sandbox.counts().items()
                       for operation, n in ops.items()}


# -- running sizes in fresh processes --------------------------------------------------------------

def _run_and_report(channel: Connection, function: Callable[..., Any], args: tuple[Any, ...]) -> None:
    try:
        channel.send(("ok", function(*args)))
    except BaseException as error:  # noqa: BLE001 - handed to the parent, which raises it
        channel.send(("error", f"{type(error).__name__}: {error}"))
        raise


def in_fresh_process(function: Callable[..., Any], *args: Any) -> Any:
    """Run ``function(*args)`` in a new interpreter and return its (picklable) result."""
    receiver, sender = _SPAWN.Pipe(duplex=False)
    process = _SPAWN.Process(target=_run_and_report, args=(sender, function, args), name="bench-client")
    process.start()
    sender.close()
    try:
        status, value = receiver.recv()
    except EOFError:
        process.join()
        raise RuntimeError(f"the benchmark process died (exit code {process.exitcode})") from None
    process.join()
    if status != "ok":
        raise RuntimeError(f"the benchmark failed: {value}")
    return value


# -- command line, table and results ---------------------------------------------------------------

def parse_args(description: str, default_sizes: str, argv: Sequence[str] | None = None,
               extra: Callable[[argparse.ArgumentParser], None] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--sizes", default=default_sizes,
                        help=f"comma-separated record counts (default {default_sizes})")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR,
                        help="where the JSON results go (default benchmarks/results/)")
    if extra is not None:
        extra(parser)
    args = parser.parse_args(argv)
    try:
        args.sizes = [int(size.replace("_", "")) for size in args.sizes.split(",") if size.strip()]
    except ValueError:
        parser.error(f"--sizes takes comma-separated integers, got {args.sizes!r}")
    if not args.sizes or min(args.sizes) < 1:
        parser.error("--sizes needs at least one positive count")
    return args


def _breakdown(calls: Mapping[str, int]) -> str:
    return ", ".join(f"{operation} {n}" for operation, n in sorted(calls.items()))


def format_table(title: str, phases: Sequence[Phase]) -> str:
    """A plain-text table: one line per phase, calls beside the lower bound, then the breakdown."""
    header = f"{'phase':<34} {'records':>8} {'calls':>7} {'bound':>7} {'ratio':>6} {'wall s':>8} {'heap MB':>8} {'RSS MB':>7}"
    lines = [title, header, "-" * len(header)]
    for phase in phases:
        ratio = phase.total_calls / phase.lower_bound if phase.lower_bound else float("nan")
        lines.append(f"{phase.name:<34} {phase.records:>8} {phase.total_calls:>7} {phase.lower_bound:>7} "
                     f"{ratio:>6.2f} {phase.wall_seconds:>8.2f} {phase.heap_peak_mb:>8.1f} {phase.max_rss_mb:>7.0f}")
        lines.append(f"{'':<4}{_breakdown(phase.calls)}")
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    """What the numbers were measured on; the load average says how busy the machine was."""
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
            "load_average": [round(x, 2) for x in os.getloadavg()]}


def write_results(results_dir: Path, benchmark: str, runs: list[dict[str, Any]]) -> Path:
    """Write ``<benchmark>-<UTC time>.json`` and return its path."""
    results_dir.mkdir(parents=True, exist_ok=True)
    now = datetime.now(timezone.utc)
    path = results_dir / f"{benchmark}-{now:%Y%m%dT%H%M%SZ}.json"
    document = {"benchmark": benchmark, "measured_at": now.isoformat(timespec="seconds"), "machine": machine(),
                "runs": runs}
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return path
