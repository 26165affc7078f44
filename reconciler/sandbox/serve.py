"""``reconcile sandbox serve``: run the sandbox until interrupted."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from pathlib import Path

from .server import Sandbox, load_seed


def serve_forever(data_dir: Path, seed_file: Path | None, port: int,
                  announce: Callable[[Sandbox], None]) -> None:
    """Start the sandbox in ``data_dir``, call ``announce`` once it listens, stop on SIGINT/SIGTERM.

    The seed is read only when the data directory holds no saved data yet: a restart keeps what
    clients wrote.
    """
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    with Sandbox(data_dir=data_dir, seed=load_seed(seed_file), port=port) as sandbox:
        announce(sandbox)
        stop.wait()
