"""Hand-built normalised resources for the pure plan tests (the shape config's loader produces)."""

from __future__ import annotations

from typing import Any


def resource(kind: str, name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "reconciler/v1", "kind": kind, "metadata": {"name": name}, "spec": spec}


def configuration(name: str, users: list[str], contacts: str = "both", events: str = "both",
                  active: bool = True) -> dict[str, Any]:
    return resource("SyncConfiguration", name, salesforceConnection="sf", exchangeConnection="ex",
                    active=active, priority=10, assign={"users": users, "profiles": []},
                    contacts={"direction": contacts}, events={"direction": events})


def user(name: str, enabled: bool = True, reset: int = 0) -> dict[str, Any]:
    return resource("User", name, salesforceUsername=f"{name}@acme.example", enabled=enabled, resetSync=reset)


def by_address(*resources: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f"{r['kind']}/{r['metadata']['name']}": r for r in resources}
