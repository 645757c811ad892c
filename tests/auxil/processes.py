"""The desabot command line as a real process, the way staff and admins run it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def desabot(config: Path, *args: str) -> subprocess.CompletedProcess:
    """`desabot ARGS --config CONFIG`; output captured as text."""
    return subprocess.run(
        [sys.executable, "-m", "bot", *args, "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )
