from __future__ import annotations

import json

import pytest

from reconciler.plan import (FORMAT_VERSION, EffectKind, FieldChange, Plan, PlanFormatError, UserEffect,
                             describe_effect, diff_config, render_markdown, render_text, select_changes,
                             user_effects)

from .resources import by_address, configuration, resource, user


def sample_plan(**kwargs) -> Plan:
    applied = by_address(user("bob.smith"), configuration("sales", ["bob.smith"]),
                         resource("Connection", "ex", exchange={"auth": {"password": {"secretRef": {"env": "EWS_PW"}}}}))
    desired = by_address(user("alice.jones"), configuration("sales", ["alice.jones"], contacts="none"),
                         resource("Connection", "ex", exchange={"auth": {"password": {"secretRef": {"env": "EWS_PW2"}}}}))
    changes = diff_config(applied, desired)
    if kwargs.get("targets"):
        changes = select_changes(changes, {*applied, *desired}, kwargs["targets"])
    effects = user_effects(applied, desired, {"bob.smith": "sales"}, {"alice.jones": "sales"})
    return Plan(config_digest="d" * 64, state_lineage="lineage-1", state_serial=3,
                config_changes=tuple(changes), effects=tuple(effects), **kwargs)


def test_json_round_trip_keeps_everything():
    plan = sample_plan()
    again = Plan.from_json(plan.to_json())
    assert again == plan
    assert json.loads(plan.to_json())["summary"] == {
        "add": 1, "change": 2, "destroy": 1, "effects": {"start_sync": 1, "stop_sync": 1}}


def test_a_newer_format_version_is_refused_clearly():
    doc = json.loads(sample_plan().to_json())
    doc["format_version"] = FORMAT_VERSION + 1
    with pytest.raises(PlanFormatError, match=f"format_version {FORMAT_VERSION + 1}, newer than this reconciler"):
        Plan.from_json(json.dumps(doc))


def test_an_older_format_version_is_refused_with_plan_again():
    doc = json.loads(sample_plan().to_json())
    doc["format_version"] = FORMAT_VERSION - 1
    with pytest.raises(PlanFormatError, match="written by an older reconciler; run `reconcile plan` again"):
        Plan.from_json(json.dumps(doc))


@pytest.mark.parametrize("text, message", [
    ("{not json", "invalid JSON"),
    ('{"kind": "something-else"}', "not a plan file"),
    (f'{{"kind": "reconciler-plan", "format_version": {FORMAT_VERSION}}}', "corrupt plan file"),
])
def test_other_files_are_refused(text, message):
    with pytest.raises(PlanFormatError, match=message):
        Plan.from_json(text)


def test_text_is_terraform_like():
    text = render_text(sample_plan())
    assert "  ~ SyncConfiguration/sales\n" in text
    assert '      ~ spec.contacts.direction: "both" -> "none"' in text
    assert '      ~ spec.exchange.auth.password: {"secretRef": {"env": "EWS_PW"}} -> {"secretRef": {"env": "EWS_PW2"}}' in text
    assert "  + User/alice.jones\n" in text and "  - User/bob.smith\n" in text
    assert "Effects on users:\n  alice.jones: starts syncing under sales (initial sync pending)\n" in text
    assert "  bob.smith: stops syncing (was under sales)\n" in text
    assert text.endswith("Plan: 1 to add, 2 to change, 1 to destroy.\n")
    assert "\x1b[" not in text
    assert "\x1b[32m+\x1b[0m" in render_text(sample_plan(), color=True)


def test_text_of_an_empty_and_of_a_targeted_plan():
    empty = Plan(config_digest="d", state_lineage="l", state_serial=0, config_changes=(), effects=())
    assert render_text(empty) == "No changes. The applied configuration matches the files.\n"
    targeted = render_text(sample_plan(targets=("SyncConfiguration/*",)))
    assert targeted.startswith("Warning: resource targeting is in effect\n  This plan covers only SyncConfiguration/*.")
    assert "Plan: 0 to add, 1 to change, 0 to destroy." in targeted


def test_markdown_names_no_user_and_shows_no_values():
    markdown = render_markdown(sample_plan(targets=("User/alice.jones", "SyncConfiguration/sales")))
    for personal in ("alice", "bob", "acme.example", "EWS_PW", '"none"'):
        assert personal not in markdown
    assert "| ~ update | `SyncConfiguration/sales` | `spec.assign.users`, `spec.contacts.direction` |" in markdown
    assert "| + create | 1 User resource | |" in markdown
    assert "| start syncing (initial sync pending) | 1 |" in markdown
    assert "| `SyncConfiguration/sales` | start syncing (initial sync pending): 1, stop syncing: 1 |" in markdown
    assert "targets 1 user pattern" not in markdown and "`SyncConfiguration/sales`, 1 user pattern" in markdown


def test_each_effect_reads_as_a_sentence_and_counts_per_configuration_in_markdown():
    effects = (
        UserEffect("u1", EffectKind.MOVE, "a", "b", (FieldChange("contacts.direction", "both", "none"),)),
        UserEffect("u2", EffectKind.DIRECTION_CHANGE, "a", "a",
                   (FieldChange("events.direction", "both", "salesforce_to_exchange"),)),
        UserEffect("u3", EffectKind.RESET, "a", "a", (FieldChange("resetSync", 1, 2),)),
        UserEffect("u4", EffectKind.DISABLE, "b", None),
    )
    assert [describe_effect(e) for e in effects] == [
        'moves from a to b: contacts direction "both" -> "none"',
        'under a: events direction "both" -> "salesforce_to_exchange"',
        "reset sync requested: pairings are rebuilt on the next cycle (resetSync 1 -> 2)",
        "is disabled and stops syncing (was under b)",
    ]
    plan = Plan(config_digest="d", state_lineage="l", state_serial=1, effects=effects,
                config_changes=tuple(diff_config({}, by_address(configuration("a", [])))))
    markdown = render_markdown(plan)
    assert "| `SyncConfiguration/a` | change sync direction: 1, moved out: 1, reset sync (pairings rebuilt): 1 |" in markdown
    assert "| `SyncConfiguration/b` | disabled: 1, moved in: 1 |" in markdown
    assert not any(user in markdown for user in ("u1", "u2", "u3", "u4"))
