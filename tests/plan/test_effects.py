from __future__ import annotations

from reconciler.plan import EffectKind, FieldChange, UserEffect, user_effects

from .resources import by_address, configuration, user


def kinds(effects):
    return [(e.user, e.kind) for e in effects]


def test_start_stop_move_and_disable():
    before = by_address(user("alice"), user("bob"), user("carol"), user("dave"),
                        configuration("a", ["bob", "carol", "dave"]), configuration("b", []))
    after = by_address(user("alice"), user("carol"), user("dave", enabled=False),
                       configuration("a", ["alice", "dave"]), configuration("b", ["carol"], contacts="none"))
    effects = user_effects(before, after,
                           {"bob": "a", "carol": "a", "dave": "a"},
                           {"alice": "a", "carol": "b", "dave": "a"})
    assert effects == [
        UserEffect("alice", EffectKind.START_SYNC, None, "a"),
        UserEffect("bob", EffectKind.STOP_SYNC, "a", None),
        UserEffect("carol", EffectKind.MOVE, "a", "b", (FieldChange("contacts.direction", "both", "none"),)),
        UserEffect("dave", EffectKind.DISABLE, "a", None),
    ]


def test_direction_change_and_reset_under_the_same_configuration():
    before = by_address(user("alice"), configuration("a", ["alice"]))
    after = by_address(user("alice", reset=1), configuration("a", ["alice"], events="salesforce_to_exchange"))
    effects = user_effects(before, after, {"alice": "a"}, {"alice": "a"})
    assert kinds(effects) == [("alice", EffectKind.DIRECTION_CHANGE), ("alice", EffectKind.RESET)]
    assert effects[0].changes == (FieldChange("events.direction", "both", "salesforce_to_exchange"),)
    assert effects[1].changes == (FieldChange("resetSync", 0, 1),)


def test_reset_of_a_user_who_starts_syncing_is_not_reported_twice():
    after = by_address(user("alice", reset=3), configuration("a", ["alice"]))
    assert kinds(user_effects({}, after, {}, {"alice": "a"})) == [("alice", EffectKind.START_SYNC)]


def test_unchanged_users_and_users_never_synced_have_no_effects():
    before = by_address(user("alice"), user("bob", enabled=False), configuration("a", ["alice", "bob"]))
    after = by_address(user("alice"), user("bob", enabled=False), configuration("a", ["alice", "bob"]))
    assert user_effects(before, after, {"alice": "a", "bob": "a"}, {"alice": "a", "bob": "a"}) == []
