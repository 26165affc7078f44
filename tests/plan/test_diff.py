from __future__ import annotations

import pytest

from reconciler.plan import (ABSENT, Action, FieldChange, TargetingError, apply_changes, dangling_references,
                             diff_config, select_changes)

from .resources import by_address, configuration, resource, user


def test_no_difference_gives_no_changes():
    config = by_address(user("alice"), configuration("sales", ["alice"]))
    assert diff_config(config, dict(config)) == []


def test_create_update_delete_sorted_by_address_with_leaf_paths():
    applied = by_address(user("bob"), configuration("sales", ["bob"]))
    desired = by_address(user("alice"), configuration("sales", ["alice"], contacts="salesforce_to_exchange"))
    changes = diff_config(applied, desired)
    assert [(c.address, c.action) for c in changes] == [
        ("SyncConfiguration/sales", Action.UPDATE), ("User/alice", Action.CREATE), ("User/bob", Action.DELETE)]
    update = changes[0]
    assert update.changes == (
        FieldChange("spec.assign.users", ["bob"], ["alice"]),
        FieldChange("spec.contacts.direction", "both", "salesforce_to_exchange"),
    )
    create = changes[1]
    assert FieldChange("spec.salesforceUsername", ABSENT, "alice@acme.example") in create.changes
    assert create.before is None and create.after == desired["User/alice"]
    assert all(c.after is ABSENT for c in changes[2].changes)


def test_secret_reference_is_one_value_and_odd_keys_are_quoted():
    before = resource("Connection", "ex", exchange={"auth": {"password": {"secretRef": {"env": "OLD"}}}})
    after = resource("Connection", "ex", exchange={"auth": {"password": {"secretRef": {"file": "k/pw"}}}})
    after["metadata"]["labels"] = {"app.kubernetes.io/name": "crm"}
    [change] = diff_config(by_address(before), by_address(after))
    assert change.changes == (
        FieldChange('metadata.labels["app.kubernetes.io/name"]', ABSENT, "crm"),
        FieldChange("spec.exchange.auth.password", {"secretRef": {"env": "OLD"}}, {"secretRef": {"file": "k/pw"}}),
    )


def test_targets_take_globs_and_excludes_win():
    applied = by_address(user("bob"))
    desired = by_address(user("alice"), user("carol"), configuration("sales", ["alice"]))
    changes = diff_config(applied, desired)
    known = {*applied, *desired}
    assert [c.address for c in select_changes(changes, known, ["User/*"], ["User/carol"])] == \
        ["User/alice", "User/bob"]
    assert [c.address for c in select_changes(changes, known, [], ["User/*"])] == ["SyncConfiguration/sales"]


def test_a_target_matching_nothing_is_an_error_not_no_changes():
    config = by_address(user("alice"))
    with pytest.raises(TargetingError, match="'User/alcie'"):
        select_changes(diff_config({}, config), set(config), ["User/alcie"])


def test_apply_changes_and_dangling_references_of_a_partial_result():
    desired = by_address(user("alice"), configuration("sales", ["alice"]))
    changes = diff_config({}, desired)
    assert apply_changes({}, changes) == desired
    partial = apply_changes({}, select_changes(changes, set(desired), ["SyncConfiguration/*"]))
    assert dangling_references(partial) == [
        ("SyncConfiguration/sales", "Connection/ex"), ("SyncConfiguration/sales", "Connection/sf"),
        ("SyncConfiguration/sales", "User/alice")]
