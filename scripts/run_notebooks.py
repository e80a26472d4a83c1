"""Execute the book's notebooks in fresh kernels and print each one's time.

    python scripts/run_notebooks.py book/01_rl_basics.ipynb ...
    python scripts/run_notebooks.py --inplace book/*.ipynb   # also save outputs

Each notebook runs with its own folder as the working directory, as Jupyter
runs it. With ``--inplace`` the executed notebook, outputs included, replaces
the file: that is how the committed outputs are regenerated. The exit status
is 1 when a notebook fails, takes longer than ``--budget`` seconds, or the
notebooks together take longer than ``--total-budget`` seconds.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

#: Each chapter must run top to bottom within this many seconds on a 2-core CPU.
BUDGET_SECONDS = 90.0
#: The whole book must execute from scratch within this many seconds on the same CPU.
TOTAL_BUDGET_SECONDS = 600.0


def run(path: Path, *, inplace: bool, timeout: int) -> float:
    """Execute ``path`` in a fresh kernel; return the wall time in seconds."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    start = time.perf_counter()
    client.execute()
    elapsed = time.perf_counter() - start
    if inplace:
        nbformat.write(nb, path)
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--inplace", action="store_true", help="save the outputs")
    parser.add_argument("--budget", type=float, default=BUDGET_SECONDS)
    parser.add_argument("--total-budget", type=float, default=TOTAL_BUDGET_SECONDS)
    parser.add_argument("--timeout", type=int, default=600, help="per-cell timeout (s)")
    args = parser.parse_args()
    failed = False
    print(f"| notebook | seconds | within {args.budget:g} s |")
    print("|---|---:|:---:|")
    total = 0.0
    for path in args.notebooks:
        try:
            seconds = run(path, inplace=args.inplace, timeout=args.timeout)
        except Exception as err:  # report every notebook, then fail
            print(f"| {path.name} | failed: {type(err).__name__} | no |")
            print(err, file=sys.stderr)
            failed = True
            continue
        total += seconds
        ok = seconds <= args.budget
        failed |= not ok
        print(f"| {path.name} | {seconds:.1f} | {'yes' if ok else 'NO'} |", flush=True)
    within = total <= args.total_budget
    failed |= not within
    print(f"| total | {total:.1f} | within {args.total_budget:g} s: {'yes' if within else 'NO'} |")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
