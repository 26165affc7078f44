"""One Salesforce change feed per org and cycle: a no-change cycle costs the same Salesforce calls for
20 users as for 2, and the shared feed still tells each user what is theirs (a contact given to
another owner leaves one user's data set and enters the other's). Calls are the sandbox's own
counters."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from reconciler.engine.runtime import sandbox_dir
from reconciler.plan.records import has_record_changes
from reconciler.sandbox.faults import FaultRule
from reconciler.sandbox.generate import bench_user_address, generate_seed
from reconciler.sandbox.server import Sandbox
from reconciler.sync import ActionKind

from .conftest import World, fast_backoff
from .test_api_calls import CONFIG

PARALLEL = 2   # worker threads would log in once each: the same number for every fleet size


def _fleet_config(users: int) -> str:
    """The one-user bench configuration, with ``users`` declared users all assigned to it."""
    salesforce, exchange, _, configuration = CONFIG.format(user="").split("---\n")
    declared = [f'apiVersion: reconciler/v1\nkind: User\nmetadata: {{name: bench{n}}}\n'
                f'spec: {{salesforceUsername: "{bench_user_address(n)}"}}\n' for n in range(1, users + 1)]
    names = ", ".join(f"bench{n}" for n in range(1, users + 1))
    configuration = configuration.replace("assign: {users: [bench]}", f"assign: {{users: [{names}]}}")
    return "---\n".join([salesforce, exchange, *declared, configuration])


@contextmanager
def _fleet_in_sync(tmp_path: Path, name: str, users: int, contacts_per_user: int,
                   configuration: str | None = None) -> Iterator[tuple[World, Sandbox]]:
    """``users`` bench users with ``contacts_per_user`` contacts each, on both sides, synced and
    settled past the feed's overlap, in a configuration directory of their own (``configuration``:
    the YAML, ``_fleet_config(users)`` unless given)."""
    config = tmp_path / name
    config.mkdir()
    (config / "reconciler.yaml").write_text(configuration or _fleet_config(users), encoding="utf-8")
    seed = generate_seed(users=users, contacts_per_user=contacts_per_user, events_per_user=0, overlap=1.0)
    with Sandbox(data_dir=sandbox_dir(config), seed=seed) as sandbox:
        world = World(config, f"sqlite:///{config / 'state.db'}", sandbox)
        try:
            world.settle(parallel=PARALLEL)
            yield world, sandbox
        finally:
            world.close()


def _no_change_cycle_calls(tmp_path: Path, users: int) -> dict[str, int]:
    with _fleet_in_sync(tmp_path, f"fleet-{users}", users, 5) as (world, sandbox):
        sandbox.counters.reset()
        plan = world.plan(parallel=PARALLEL)
        assert world.apply(plan, parallel=PARALLEL).ok and not has_record_changes(plan.record_changes)
        return sandbox.counters.counts("salesforce")


def test_a_no_change_cycle_costs_the_same_salesforce_calls_for_20_users_as_for_2(tmp_path: Path):
    two = _no_change_cycle_calls(tmp_path, 2)
    twenty = _no_change_cycle_calls(tmp_path, 20)
    assert two == twenty
    # the directory look-up, one change SOQL and one getDeleted, all on the planning thread's one
    # login: the worker threads planning the users make no Salesforce call at all
    assert two == {"deleted": 1, "query": 2, "token": 1}, two


def test_a_contact_given_to_another_owner_leaves_one_data_set_and_enters_the_other(tmp_path: Path):
    with _fleet_in_sync(tmp_path, "handover", 2, 3) as (world, sandbox):
        first, second = bench_user_address(1), bench_user_address(2)
        store = world.salesforce_store(first)
        handed = world.salesforce_contacts(first)[0]
        world.user_edit(store, handed, OwnerId=world.salesforce_user_id(second))
        sandbox.counters.reset()
        plan = world.plan(parallel=PARALLEL)

        assert sandbox.counters.counts("salesforce")["deleted"] == 1   # still one feed for both users
        left = [a for a in world.entry(plan, "bench1").actions if a.salesforce_id == handed.id]
        assert [a.reason for a in left] and all("left the salesforce data set" in a.reason for a in left), left
        entered = [a for a in world.entry(plan, "bench2").actions if a.salesforce_id == handed.id]
        assert [a.kind for a in entered] == [ActionKind.CREATE_EXCHANGE], entered


def test_a_contact_that_stops_matching_the_data_set_filter_leaves_it_for_its_owner(tmp_path: Path):
    filtered = _fleet_config(2).replace(
        "contacts: {direction: both}",
        'contacts:\n    direction: both\n    dataSet:\n      filter:\n'
        '        - {field: Department, operator: not_equals, value: "Archive"}')
    with _fleet_in_sync(tmp_path, "filtered", 2, 3, filtered) as (world, sandbox):
        store = world.salesforce_store(bench_user_address(1))
        archived = world.salesforce_contacts(bench_user_address(1))[0]
        world.user_edit(store, archived, Department="archive")   # SOQL compares text case-insensitively
        plan = world.plan(parallel=PARALLEL)

        left = [a for a in world.entry(plan, "bench1").actions if a.salesforce_id == archived.id]
        assert [a.reason for a in left] and all("left the salesforce data set" in a.reason for a in left), left
        assert not world.entry(plan, "bench2").actions


def test_when_the_org_feed_fails_every_user_reports_it_and_nobody_asks_salesforce_on_their_own(tmp_path: Path):
    with _fleet_in_sync(tmp_path, "failing", 3, 2) as (world, sandbox):
        sandbox.faults.add(FaultRule("http_503", service="salesforce", operation="deleted"))
        sandbox.counters.reset()
        plan = world.plan(parallel=PARALLEL)

        attempts = sandbox.counters.counts("salesforce")["deleted"]
        assert attempts == fast_backoff().attempts   # one feed retried, not one per user
        for user in ("bench1", "bench2", "bench3"):
            entry = world.entry(plan, user)
            assert not entry.actions and not entry.cursors_final
            assert any("the org's change feed" in error for error in entry.listing_errors), entry.listing_errors
