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
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler.connectors.salesforce import CURSOR_OVERLAP
from reconciler.connectors.secrets import Secret
from reconciler.connectors.settings import ExchangeAuth, ExchangeSettings, SalesforceAuth, SalesforceSettings
from reconciler.engine.runtime import sandbox_dir
from reconciler.sandbox.generate import BENCH_DOMAIN

if TYPE_CHECKING:
    from reconciler.state import StateStore

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
    seed = generate_seed(**seed_args)
    # No periodic flush: re-serialising a 50,000-record store every half second would compete with
    # the benchmark for the CPU. The data directory is there for endpoints.json and secrets/.
    sandbox = Sandbox(data_dir=data_dir, seed=seed, flush_interval=24 * 3600)
    sandbox.start()
    channel.send({"endpoints": sandbox.endpoints(), "seconds": time.perf_counter() - started,
                  "counts": seed_counts(seed)})
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


def seed_counts(seed: Mapping[str, Any]) -> dict[str, int]:
    """How many of each record a seed holds: ``salesforce.events``, ``exchange.events`` (calendar
    items as seeded: a series is one) ..., summed over mailboxes; a bound may need them."""
    counts = {f"{section}.{key}": len(value) for section, content in seed.items() for key, value in content.items()
              if isinstance(value, list) and key != "mailboxes"}
    for mailbox in seed.get("exchange", {}).get("mailboxes", []):
        for key in ("contacts", "events"):
            counts[f"exchange.{key}"] = counts.get(f"exchange.{key}", 0) + len(mailbox.get(key) or ())
    return counts


class SandboxProcess:
    """A sandbox seeded by ``reconciler.sandbox.generate.generate_seed(**seed_args)`` in a child
    process, keeping its data (``endpoints.json``, ``secrets/``) in ``data_dir``."""

    def __init__(self, data_dir: Path, **seed_args: Any) -> None:
        self.seed_args = seed_args
        self.data_dir = data_dir
        self._channel, child = _SPAWN.Pipe()
        self._process = _SPAWN.Process(target=_serve_sandbox, args=(child, str(data_dir), seed_args),
                                       name="bench-sandbox")
        self.endpoints: dict[str, Any] = {}
        self.seed_seconds = 0.0
        self.seed_counts: dict[str, int] = {}

    def __enter__(self) -> "SandboxProcess":
        self._process.start()
        if not self._channel.poll(600):
            self._process.terminate()
            raise RuntimeError("the benchmark sandbox did not start within 10 minutes")
        ready = self._channel.recv()
        self.endpoints, self.seed_seconds, self.seed_counts = ready["endpoints"], ready["seconds"], ready["counts"]
        return self

    def __exit__(self, *exc: object) -> None:
        if self._process.is_alive():
            self._channel.send("stop")
            self._channel.poll(120)
        self._process.join(120)
        if self._process.is_alive():
            self._process.terminate()

    def counts(self) -> dict[str, dict[str, int]]:
        """Requests the sandbox answered since the last reset, by service and operation."""
        self._channel.send("counts")
        return self._channel.recv()

    def reset_counts(self) -> None:
        self._channel.send("reset")
        self._channel.recv()

    def salesforce_settings(self) -> SalesforceSettings:
        return salesforce_settings(self.endpoints, self.data_dir / "secrets")

    def exchange_settings(self) -> ExchangeSettings:
        return exchange_settings(self.endpoints, self.data_dir / "secrets")


def sandbox_connections() -> list[dict[str, Any]]:
    """The Connection documents of a benchmark configuration: the configuration directory's own
    sandbox (``sandbox://local``), its secrets referenced by file as the quickstart does."""
    secrets = sandbox_dir(Path(".")) / "secrets"
    return [
        {"apiVersion": "reconciler/v1", "kind": "Connection", "metadata": {"name": "bench-salesforce"},
         "spec": {"salesforce": {"instanceUrl": "sandbox://local", "auth": {
             "type": "client_credentials", "clientId": "reconciler-sandbox",
             "clientSecret": {"secretRef": {"file": str(secrets / "salesforce.clientSecret")}}}}}},
        {"apiVersion": "reconciler/v1", "kind": "Connection", "metadata": {"name": "bench-exchange"},
         "spec": {"exchange": {"ewsUrl": "sandbox://local", "domains": [BENCH_DOMAIN], "auth": {
             "type": "service_account", "username": f"svc-reconciler@{BENCH_DOMAIN}",
             "password": {"secretRef": {"file": str(secrets / "exchange.serviceAccountPassword")}}}}}},
    ]


def _secret(secrets_dir: Path, service: str, key: str) -> Secret:
    """A file reference to one of the credentials the sandbox writes to ``secrets/``."""
    return Secret("file", str(secrets_dir / f"{service}.{key}"))


def salesforce_settings(endpoints: Mapping[str, Any], secrets_dir: Path) -> SalesforceSettings:
    """JWT bearer as the sandbox's integration user: the login a production org would use."""
    salesforce = endpoints["salesforce"]
    return SalesforceSettings(
        instance_url=salesforce["instanceUrl"], login_url=salesforce["loginUrl"],
        api_version=salesforce["apiVersion"], ca_file=Path(endpoints["caFile"]),
        auth=SalesforceAuth(type="jwt_bearer", client_id=salesforce["credentials"]["clientId"],
                            username=salesforce["credentials"]["username"],
                            private_key=_secret(secrets_dir, "salesforce", "jwtPrivateKey")))


def exchange_settings(endpoints: Mapping[str, Any], secrets_dir: Path) -> ExchangeSettings:
    """The sandbox's impersonating service account: on-premises Exchange, where EWS stays."""
    exchange = endpoints["exchange"]
    return ExchangeSettings(
        ews_url=exchange["ewsUrl"], domains=tuple(exchange["domains"]), ca_file=Path(endpoints["caFile"]),
        auth=ExchangeAuth(type="service_account", username=exchange["credentials"]["serviceAccountUsername"],
                          password=_secret(secrets_dir, "exchange", "serviceAccountPassword")))


def wait_past_change_window(salesforce_versions: Iterable[str]) -> None:
    """Wait until Salesforce writes fall before the next change window, as they would between two
    cycles minutes apart; a benchmark's next listing would otherwise re-read them as echoes.

    The window starts CURSOR_OVERLAP before the previous listing, cut to the whole second of the
    server's Date header, and the sandbox stamps a burst of writes a millisecond per record, which
    can run seconds ahead of its wall clock: the newest SystemModstamp says how long to wait."""
    stamps = [datetime.strptime(v.replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S.%f%z") for v in salesforce_versions if v]
    if stamps:
        wait = (max(stamps) + CURSOR_OVERLAP - datetime.now(timezone.utc)).total_seconds() + 2
        time.sleep(max(0.0, wait))


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
    max_rss_mb: float = 0.0            # the process's resident high-water mark at the phase's end
    heap_peak_mb: float | None = None  # tracemalloc peak during the phase (Python objects), from the heap pass

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "total_calls": self.total_calls}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Phase":
        return cls(**{k: v for k, v in data.items() if k != "total_calls"})


def _max_rss_mb() -> float:
    # ru_maxrss is in KiB on Linux (bytes on macOS).
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20


@contextmanager
def measured(sandbox: SandboxProcess, phase: Phase, trace_heap: bool) -> Iterator[Phase]:
    """Measure the block into ``phase``: calls, wall time and peak RSS, and with ``trace_heap`` the
    tracemalloc peak. Tracing makes allocation-heavy code (exchangelib's XML handling) several
    times slower, which is why :func:`run_benchmark` traces in a second pass of its own."""
    sandbox.reset_counts()
    if trace_heap:
        tracemalloc.start()
    started = time.perf_counter()
    try:
        yield phase
    finally:
        phase.wall_seconds = time.perf_counter() - started
        if trace_heap:
            phase.heap_peak_mb = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
        phase.max_rss_mb = _max_rss_mb()
        phase.calls = {f"{service}.{operation}": n for service, ops in sandbox.counts().items()
                       for operation, n in ops.items()}
        # Progress on stderr: a large case runs for many minutes before its table is printed.
        print(f"  [{phase.name}: {phase.total_calls} calls, {phase.wall_seconds:.1f} s, "
              f"RSS {phase.max_rss_mb:.0f} MB] {_breakdown(phase.calls)}", file=sys.stderr, flush=True)


def quiet_cycles(sandbox: SandboxProcess, store: StateStore, config_dir: Path, names: Sequence[str], plan_bound: int,
                 plan_rule: str, trace_heap: bool) -> list[Phase]:
    """Plan and apply one cycle per name with nothing changed on either side, measured; raises when
    one plans a change or its apply fails. The first cycles after an initial one re-read, as echoes,
    the writes its apply could not move the cursors past; the last one is the steady state."""
    from reconciler.engine.cycle import apply_cycle, plan_cycle, plan_has_changes
    from reconciler.plan.records import record_entries

    phases: list[Phase] = []
    for name in names:
        with measured(sandbox, Phase(f"{name} plan", 0, plan_bound, plan_rule), trace_heap) as phase:
            plan, _ = plan_cycle(config_dir, store, refresh=True)
        phases.append(phase)
        if plan_has_changes(plan):
            changed = [(e.user, e.object, e.counts, len(e.attendees)) for e in record_entries(plan.record_changes)
                       if e.change_count]
            raise RuntimeError(f"the {name} cycle planned changes with nothing changed: {changed[:3]}")
        with measured(sandbox, Phase(f"{name} apply", 0, 0, "nothing to write"), trace_heap) as phase:
            outcome = apply_cycle(plan, store, config_dir, "benchmark")
        phases.append(phase)
        if not outcome.ok:
            raise RuntimeError(f"the {name} apply failed: {outcome}")
    return phases


# -- running cases in fresh processes --------------------------------------------------------------

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


@dataclass(frozen=True)
class Case:
    """One run of a benchmark: ``title`` for the table, ``args`` for its run function."""

    title: str
    args: tuple[Any, ...]


# run(*case.args, trace_heap) -> {"phases": [phase JSON ...], ...}: any other key (what the run
# checked, say) is written to the case's results as it is, from the timing pass.
RunCase = Callable[..., dict[str, Any]]


def run_benchmark(benchmark: str, cases: Sequence[Case], run: RunCase, results_dir: Path, heap: bool) -> Path:
    """Run each case in a fresh process (timing pass) and, with ``heap``, once more with
    tracemalloc (heap pass, whose peaks join the timing pass's phases); print a table per case and
    write the JSON results."""
    runs = []
    for case in cases:
        timed = in_fresh_process(run, *case.args, False)
        phases = [Phase.from_json(p) for p in timed.pop("phases")]
        if heap:
            traced = {p["name"]: p for p in in_fresh_process(run, *case.args, True)["phases"]}
            for phase in phases:
                phase.heap_peak_mb = traced[phase.name]["heap_peak_mb"]
        print(format_table(f"\n{benchmark}: {case.title}", phases), flush=True)
        for key, value in timed.items():
            print(f"{key}: {json.dumps(value)}", flush=True)
        runs.append({"case": case.title, "args": list(case.args), "phases": [p.to_json() for p in phases], **timed})
    return write_results(results_dir, benchmark, runs)


# -- command line, table and results ---------------------------------------------------------------

def parse_sizes(text: str) -> list[int]:
    """``"1000,10_000"`` -> ``[1000, 10000]`` (argparse ``type``)."""
    try:
        sizes = [int(size.replace("_", "")) for size in text.split(",") if size.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated counts, got {text!r}") from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError("expected at least one positive count")
    return sizes


def argument_parser(description: str) -> argparse.ArgumentParser:
    """The options every benchmark takes; each adds its own size options."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR,
                        help="where the JSON results go (default benchmarks/results/)")
    parser.add_argument("--no-heap", dest="heap", action="store_false",
                        help="skip the second, tracemalloc pass (halves the run time; no heap peaks)")
    return parser


def _breakdown(calls: Mapping[str, int]) -> str:
    return ", ".join(f"{operation} {n}" for operation, n in sorted(calls.items()))


def format_table(title: str, phases: Sequence[Phase]) -> str:
    """A plain-text table: one line per phase, calls beside the lower bound, then the breakdown."""
    header = (f"{'phase':<34} {'records':>8} {'calls':>7} {'bound':>7} {'ratio':>6} {'wall s':>8} "
              f"{'heap MB':>8} {'RSS MB':>7}")
    lines = [title, header, "-" * len(header)]
    for phase in phases:
        ratio = f"{phase.total_calls / phase.lower_bound:.2f}" if phase.lower_bound else "-"
        heap = f"{phase.heap_peak_mb:.1f}" if phase.heap_peak_mb is not None else "-"
        lines.append(f"{phase.name:<34} {phase.records:>8} {phase.total_calls:>7} {phase.lower_bound:>7} "
                     f"{ratio:>6} {phase.wall_seconds:>8.2f} {heap:>8} {phase.max_rss_mb:>7.0f}")
        lines.append(f"{'':<4}{_breakdown(phase.calls)}   [bound: {phase.bound_rule}]")
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
