"""``make fuzz``: run the whole fuzz corpus and print the counts (exit 1 if any case is not clear).

Usage: ``python tests/fuzz/run.py [--every N] [--show K] [--family NAME]``
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from cases import all_cases  # noqa: E402
from harness import VERDICTS, run_case, sample  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--every", type=int, default=1, help="run every N-th case of each family (default: all)")
    ap.add_argument("--show", type=int, default=20, help="print this many failing cases in full")
    ap.add_argument("--family", default=None, help="only cases whose id starts with this")
    args = ap.parse_args(argv)
    cases = all_cases()
    if args.family:
        cases = [c for c in cases if c.id.startswith(args.family)]
    if args.every > 1:
        cases = sample(cases, args.every)
    t0 = time.perf_counter()
    counts: Counter = Counter()
    by_family: dict[str, Counter] = {}
    failures = []
    for i, case in enumerate(cases, 1):
        out = run_case(case)
        counts[out.verdict] += 1
        by_family.setdefault(case.id.split("/")[0], Counter())[out.verdict] += 1
        if out.verdict != "clear":
            failures.append(out)
        if sys.stderr.isatty():
            print(f"\r{i}/{len(cases)} cases", end="", file=sys.stderr, flush=True)
    if sys.stderr.isatty():
        print("", file=sys.stderr)
    for out in failures[:args.show]:
        last = out.stderr.strip().splitlines()[-1:] or ["(nothing on stderr)"]
        print(f"{out.verdict:<18} {out.case.id}  exit {out.exit_code}: {last[0][:300]}")
    print()
    print(f"{'family':<14}" + "".join(f"{v:>19}" for v in VERDICTS))
    for fam, c in sorted(by_family.items()):
        print(f"{fam:<14}" + "".join(f"{c[v]:>19,}" for v in VERDICTS))
    print()
    print(f"tried {len(cases):,} / clear {counts['clear']:,} / traceback {counts['traceback']:,} / "
          f"wrong-exit {counts['wrong_exit']:,} / silent-acceptance {counts['silent_acceptance']:,} / "
          f"unclear {counts['unclear']:,} / wrote-output {counts['wrote_output']:,}  "
          f"({time.perf_counter() - t0:.0f} s)")
    return 0 if counts["clear"] == len(cases) else 1


if __name__ == "__main__":
    sys.exit(main())
