"""Project-wide test plugins: the in-process sandbox fixtures."""

pytest_plugins = ["reconciler.sandbox.testing"]
