"""The desabot command line as a real process, the way staff and admins run it."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path


def run_desabot(*args: str, stdin: str = "", **options) -> subprocess.CompletedProcess:
    """`desabot ARGS` (python -m bot) as a real process; output captured as text."""
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        **options,
    )


def desabot(config: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    """`desabot ARGS --config CONFIG`."""
    return run_desabot(*args, "--config", str(config), stdin=stdin)


def wait_until(predicate, seconds: float, what: str = "the condition") -> None:
    """Poll ``predicate`` (from a test thread, while a real bot process works) until true."""
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
