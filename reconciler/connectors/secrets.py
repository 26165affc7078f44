"""Secret references, resolved at the moment of use.

Configuration holds only references (``{secretRef: {env: NAME}}`` or ``{secretRef: {file: PATH}}``).
A :class:`Secret` carries the reference, not the value: its ``repr``/``str`` name the reference, so
a connection object that ends up in a log line or a traceback leaks nothing. The value is read only
by :meth:`Secret.reveal`, right before a login, and never kept.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from .errors import ConnectorError, ErrorKind

SecretSource = Literal["env", "file"]


@dataclass(frozen=True)
class Secret:
    """A reference to a secret: an environment variable or a file."""

    source: SecretSource
    name: str

    @classmethod
    def from_ref(cls, ref: Any) -> "Secret":
        """Build from the config package's typed SecretRef (``env``/``file`` attributes; file paths
        already made absolute against the YAML file), a ``{secretRef: {...}}`` or bare
        ``{env|file: ...}`` mapping, or a Secret."""
        if isinstance(ref, Secret):
            return ref
        if isinstance(ref, Mapping):
            inner = ref.get("secretRef", ref)
            env, file = inner.get("env"), inner.get("file")
        else:
            env, file = getattr(ref, "env", None), getattr(ref, "file", None)
        if bool(env) == bool(file):
            raise ConnectorError(ErrorKind.CONFIGURATION,
                                 "a secret reference needs exactly one of 'env' or 'file'",
                                 fix="write {secretRef: {env: NAME}} or {secretRef: {file: PATH}}")
        if env:
            return cls("env", str(env))
        return cls("file", str(Path(str(file)).expanduser()))

    def reveal(self) -> str:
        """Read the value now. Trailing newlines of secret files are dropped (editors add them)."""
        if self.source == "env":
            value = os.environ.get(self.name)
            if value is None:
                raise ConnectorError(ErrorKind.CONFIGURATION, f"environment variable {self.name} is not set",
                                     fix=f"export {self.name} in the environment that runs reconcile")
            if value == "":
                raise ConnectorError(ErrorKind.CONFIGURATION, f"environment variable {self.name} is empty",
                                     fix=f"set {self.name} to the secret's value")
            return value
        try:
            value = Path(self.name).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
            raise ConnectorError(ErrorKind.CONFIGURATION, f"secret file {self.name} not readable: {reason}",
                                 fix="check the path (relative paths start at the YAML file's directory) "
                                     "and the file's permissions") from None
        value = value.rstrip("\r\n")
        if not value:
            raise ConnectorError(ErrorKind.CONFIGURATION, f"secret file {self.name} is empty",
                                 fix="write the secret's value into the file")
        return value

    def __repr__(self) -> str:
        return f"Secret({self.source} {self.name})"

    __str__ = __repr__
