"""A cycle with nothing to do costs a constant number of API calls per user, whatever the mailbox
and the Salesforce data set hold (read from the sandbox's own counters)."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.engine.runtime import sandbox_dir
from reconciler.sandbox.generate import bench_user_address, generate_seed
from reconciler.sandbox.server import Sandbox

from .conftest import World

CONFIG = """\
apiVersion: reconciler/v1
kind: Connection
metadata: {{name: acme-salesforce}}
spec:
  salesforce:
    instanceUrl: sandbox://local
    auth:
      type: client_credentials
      clientId: bench
      clientSecret: {{secretRef: {{file: .reconciler/sandbox/secrets/salesforce.clientSecret}}}}
---
apiVersion: reconciler/v1
kind: Connection
metadata: {{name: acme-exchange}}
spec:
  exchange:
    ewsUrl: sandbox://local
    domains: [bench.example]
    auth:
      type: service_account
      username: svc-reconciler@bench.example
      password: {{secretRef: {{file: .reconciler/sandbox/secrets/exchange.serviceAccountPassword}}}}
---
apiVersion: reconciler/v1
kind: User
metadata: {{name: bench}}
spec: {{salesforceUsername: "{user}"}}
---
apiVersion: reconciler/v1
kind: SyncConfiguration
metadata: {{name: bench}}
spec:
  salesforceConnection: acme-salesforce
  exchangeConnection: acme-exchange
  assign: {{users: [bench]}}
  contacts: {{direction: both}}
  limits: {{maxChanges: 100000}}
"""


def _no_change_cycle_calls(tmp_path: Path, contacts: int) -> dict[str, int]:
    config = tmp_path / f"bench-{contacts}"
    config.mkdir()
    (config / "reconciler.yaml").write_text(CONFIG.format(user=bench_user_address(1)), encoding="utf-8")
    seed = generate_seed(users=1, contacts_per_user=contacts, events_per_user=0, overlap=1.0)
    with Sandbox(data_dir=sandbox_dir(config), seed=seed) as sandbox:
        world = World(config, f"sqlite:///{config / 'state.db'}", sandbox)
        try:
            for _ in range(3):   # the initial sync, then a cycle that reads its own writes back
                _, outcome = world.cycle()
                assert outcome.ok
            return world.quiet_cycle_calls()
        finally:
            world.close()


@pytest.mark.slow
def test_a_cycle_with_nothing_to_do_costs_the_same_calls_at_100_and_at_2000_contacts(tmp_path: Path):
    small = _no_change_cycle_calls(tmp_path, 100)
    large = _no_change_cycle_calls(tmp_path, 2000)
    assert small == large
    assert sum(small.values()) <= 15, small
