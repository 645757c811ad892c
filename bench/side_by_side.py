"""Run one benchmark of two checkouts side by side, alternating, and compare.

    git worktree add /tmp/before <commit>
    .venv/bin/python bench/side_by_side.py --before /tmp/before chat_throughput --rounds 3
    .venv/bin/python bench/side_by_side.py --before /tmp/before broadcast_throughput --rounds 3

Each round runs the benchmark once (``--rounds 1``) in the other checkout, then in this one,
each with its own code (the benchmark puts its checkout first on sys.path, and the bot it
starts runs from there), so both see the same machine load. The figure each round prints is
picked from its output: chat_throughput's desabot/echo ratio and desabot's updates per
second, broadcast_throughput's elapsed time; then the medians and after / before.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
FIGURES = {
    # name: (regex on the benchmark's output, higher is better)
    "chat_throughput": {
        "ratio to the echo bot": (r"ratio\s+([0-9.]+)", True),
        "desabot updates/s": (r"desabot\s+([0-9.]+) updates/s", True),
        "desabot CPU s": (r"round \d+ desabot .* bot CPU ([0-9.]+) s", False),
        "peak RSS MB": (r"desabot peak RSS ([0-9.]+) MB", False),
    },
    "broadcast_throughput": {
        "elapsed s": (r"  elapsed\s+([0-9.]+) s", False),
        "bot CPU s": (r"bot CPU ([0-9.]+) s", False),
        "peak RSS MB": (r"  peak RSS ([0-9.]+) MB", False),
    },
}


def run(checkout: Path, bench: str, extra: list[str]) -> str:
    result = subprocess.run(
        [sys.executable, str(checkout / "bench" / f"{bench}.py"), "--rounds", "1", *extra],
        capture_output=True,
        text=True,
        timeout=1200,
        cwd=checkout,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"{checkout}: {bench} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def figures(bench: str, output: str) -> dict[str, float]:
    found = {}
    for name, (pattern, _) in FIGURES[bench].items():
        match = re.findall(pattern, output)
        if match:
            found[name] = float(match[-1])
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, required=True, help="the other checkout")
    parser.add_argument("bench", choices=sorted(FIGURES))
    parser.add_argument("--rounds", type=int, default=3)
    args, extra = parser.parse_known_args()
    results: dict[str, list[dict[str, float]]] = {"before": [], "after": []}
    for number in range(1, args.rounds + 1):
        for label, checkout in (("before", args.before.resolve()), ("after", HERE)):
            output = run(checkout, args.bench, extra)
            found = figures(args.bench, output)
            results[label].append(found)
            shown = "  ".join(f"{k} {v:g}" for k, v in found.items())
            print(f"round {number} {label:6s} {shown}", flush=True)
    print(f"\nmedians over {args.rounds} rounds (after / before):")
    for name, (_, higher_better) in FIGURES[args.bench].items():
        before = [r[name] for r in results["before"] if name in r]
        after = [r[name] for r in results["after"] if name in r]
        if not before or not after:
            continue
        b, a = statistics.median(before), statistics.median(after)
        better = "higher is better" if higher_better else "lower is better"
        print(f"  {name:24s} before {b:9.2f}  after {a:9.2f}  after/before {a / b:5.2f} ({better})")


if __name__ == "__main__":
    main()
