"""A synced world for end-to-end record sync tests: the quickstart configuration in a private
directory, the sandbox serving that directory (so the engine's runtime finds and reuses it, exactly
as it reuses a `reconcile sandbox serve`), a real state database, and the real connectors to read
and edit both sides the way users would."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler.config import load_config
from reconciler.connectors.salesforce import CURSOR_OVERLAP
from reconciler.connectors.retry import BackOff
from reconciler.engine.cycle import CycleOutcome, apply_cycle, plan_cycle
from reconciler.engine.runtime import Runtime, sandbox_dir
from reconciler.plan import Plan
from reconciler.plan.records import UserRecordPlan, has_record_changes, record_entries
from reconciler.sandbox.faults import FaultRule
from reconciler.sandbox.server import Sandbox
from reconciler.state import StateStore
from reconciler.state.testing import postgres_server, postgres_url, state_url  # noqa: F401 - fixtures
from reconciler.sync import ActionKind, CreateOp, DeleteOp, RecordStore, SourceRecord, UpdateOp, WriteStatus

QUICKSTART = Path(__file__).resolve().parents[2] / "examples" / "configs" / "quickstart"
SALESFORCE = "acme-salesforce"
EXCHANGE = "acme-exchange"


def fast_backoff() -> BackOff:
    """Real retries with waits short enough for tests."""
    return BackOff(attempts=6, base=0.01, cap=0.05)


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    return Path(shutil.copytree(QUICKSTART, tmp_path / "config"))


@pytest.fixture
def sandbox(config_dir: Path, sandbox_seed: dict[str, Any]) -> Iterator[Sandbox]:
    """The sandbox on the configuration's own sandbox directory: the engine reuses it."""
    with Sandbox(data_dir=sandbox_dir(config_dir), seed=sandbox_seed) as running:
        yield running


class World:
    """Plans and applies cycles, and reads and edits contacts on both sides through the connectors."""

    def __init__(self, config_dir: Path, state: str, sandbox: Sandbox) -> None:
        self.config_dir = config_dir
        self.state = state
        self.sandbox = sandbox
        self.runtime = Runtime(load_config(config_dir).config, config_dir, backoff=fast_backoff)

    def close(self) -> None:
        self.runtime.close()

    # -- configuration ---------------------------------------------------------------------------

    def edit_configuration(self, name: str, **contacts: Any) -> None:
        """Set keys of a SyncConfiguration's ``spec.contacts`` (or ``limits`` via ``limits=``)."""
        path = self.config_dir / "reconciler.yaml"
        documents = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
        for doc in documents:
            if doc["kind"] == "SyncConfiguration" and doc["metadata"]["name"] == name:
                limits = contacts.pop("limits", None)
                if limits:
                    doc["spec"]["limits"] = {**doc["spec"].get("limits", {}), **limits}
                doc["spec"]["contacts"] = {**doc["spec"].get("contacts", {}), **contacts}
        path.write_text(yaml.safe_dump_all(documents, sort_keys=False), encoding="utf-8")
        self.runtime.close()
        self.runtime = Runtime(load_config(self.config_dir).config, self.config_dir, backoff=fast_backoff)

    def edit_user(self, name: str, **spec: Any) -> None:
        path = self.config_dir / "reconciler.yaml"
        documents = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
        for doc in documents:
            if doc["kind"] == "User" and doc["metadata"]["name"] == name:
                doc["spec"].update(spec)
        path.write_text(yaml.safe_dump_all(documents, sort_keys=False), encoding="utf-8")

    # -- cycles ----------------------------------------------------------------------------------

    def plan(self, **options: Any) -> Plan:
        with StateStore.open(self.state) as store:
            return plan_cycle(self.config_dir, store, backoff=fast_backoff, **options)[0]

    def apply(self, plan: Plan, **options: Any) -> CycleOutcome:
        with StateStore.open(self.state) as store:
            return apply_cycle(plan, store, self.config_dir, "test", backoff=fast_backoff, **options)

    def cycle(self, **options: Any) -> tuple[Plan, CycleOutcome]:
        plan = self.plan()
        return plan, self.apply(plan, **options)

    def cycles_until_quiet(self, most: int) -> tuple[list[CycleOutcome], bool]:
        """Run up to ``most`` cycles, stopping after one that applied cleanly and left a plan with
        no record changes: every cycle's outcome, and whether that quiet was reached."""
        outcomes: list[CycleOutcome] = []
        for _ in range(most):
            outcomes.append(self.cycle()[1])
            if outcomes[-1].ok and not has_record_changes(self.plan().record_changes):
                return outcomes, True
        return outcomes, False

    def quiet_cycle_calls(self) -> dict[str, int]:
        """The API calls (the sandbox's counters) of one cycle that must find nothing to do."""
        self.sandbox.counters.reset()
        plan, outcome = self.cycle()
        assert outcome.ok and not has_record_changes(plan.record_changes)
        return self.sandbox.counters.counts()

    def settle(self, **options: Any) -> None:
        """The initial sync, a cycle that reads its own writes back, then one past the Salesforce
        feed's overlap (it re-reads CURSOR_OVERLAP before its cursor, SystemModstamp having whole
        seconds): afterwards every cursor is beyond the initial writes, as in a fleet long in sync.
        ``options`` go to plan and apply alike (e.g. ``parallel``)."""
        for settling in range(3):
            if settling == 2:
                time.sleep(CURSOR_OVERLAP.total_seconds() + 1)
            outcome = self.apply(self.plan(**options), **options)
            assert outcome.ok, outcome.records

    def entry(self, plan: Plan, user: str) -> UserRecordPlan:
        return next(e for e in record_entries(plan.record_changes) if e.user == user)

    def kinds(self, plan: Plan, user: str) -> list[ActionKind]:
        return sorted((a.kind for a in self.entry(plan, user).actions), key=lambda k: k.value)

    # -- both sides, as users see them -------------------------------------------------------------

    def salesforce_user_id(self, username: str) -> str:
        return self.runtime.salesforce(SALESFORCE).users_by_username([username])[username.lower()].id

    def salesforce_store(self, username: str) -> RecordStore:
        return self.runtime.salesforce(SALESFORCE).contact_store(
            self.salesforce_user_id(username), "owned", (),
            ("FirstName", "LastName", "Email", "Phone", "Title", "Department", "MobilePhone", "Account.Name"))

    def exchange_store(self, mailbox: str) -> RecordStore:
        return self.runtime.exchange(EXCHANGE).contact_store(mailbox)

    @staticmethod
    def everything(store: RecordStore) -> list[SourceRecord]:
        records: list[SourceRecord] = []
        cursor = None
        while True:
            page = store.list_changes(cursor)
            records += page.records
            cursor = page.cursor
            if page.complete:
                return records

    def salesforce_contacts(self, username: str) -> list[SourceRecord]:
        return self.everything(self.salesforce_store(username))

    def exchange_contacts(self, mailbox: str) -> list[SourceRecord]:
        return self.everything(self.exchange_store(mailbox))

    def by_email(self, records: list[SourceRecord], field: str, email: str) -> list[SourceRecord]:
        return [r for r in records if (r.fields.get(field) or "").lower() == email.lower()]

    def user_edit(self, store: RecordStore, record: SourceRecord, **fields: Any) -> None:
        [result] = store.write([UpdateOp(record.id, record.version, fields)])
        assert result.status is WriteStatus.OK, result

    def user_create(self, store: RecordStore, **fields: Any) -> str:
        [result] = store.write([CreateOp(fields)])
        assert result.status is WriteStatus.OK, result
        assert result.record_id is not None
        return result.record_id

    def user_delete(self, store: RecordStore, record: SourceRecord) -> None:
        [result] = store.write([DeleteOp(record.id, record.version)])
        assert result.status is WriteStatus.OK, result


@pytest.fixture
def world(config_dir: Path, sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    made = World(config_dir, f"sqlite:///{tmp_path / 'state.db'}", sandbox)
    yield made
    made.close()


def apply_killed_mid_way(config: Path, state: str, sandbox: Sandbox, cwd: Path, service: str, operation: str) -> int:
    """Run ``reconcile apply`` in a child process with the sandbox's create operations slowed down,
    and SIGKILL it as soon as its second ``operation`` call reached ``service`` (between batches of a
    run that is still going). Returns the dead child's pid; the sandbox's faults are cleared."""
    # Writes slow enough that the kill lands between batches of a run that is still going.
    sandbox.faults.add(FaultRule("slow", service="salesforce", operation="composite_create", delay_ms=200))
    sandbox.faults.add(FaultRule("slow", service="exchange", operation="CreateItem", delay_ms=200))
    child = subprocess.Popen([sys.executable, "-m", "reconciler.cli", "apply", "-c", str(config), "--state", state,
                              "--auto-approve", "--parallel", "1"],
                             cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while sandbox.counters.counts(service).get(operation, 0) < 2:
            assert child.poll() is None, child.stderr.read().decode() if child.stderr else ""
            assert time.monotonic() < deadline, f"the apply never reached its second {operation}"
            time.sleep(0.01)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    sandbox.faults.clear()
    return child.pid
