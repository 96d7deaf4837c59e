"""Add up the figures of a fuzz run: `python -m tests.fuzz_report FILE` (SLUIS_FUZZ_REPORT).

Every test of tests/test_fuzz.py appends one JSON line; shards (xdist workers) append to the
same file. Prints one line per test and the totals the README quotes.
"""

import json
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m tests.fuzz_report FILE", file=sys.stderr)
        return 2
    lines = [json.loads(raw) for raw in Path(argv[0]).read_text(encoding="utf-8").splitlines() if raw.strip()]
    requests = errors = partial = compared = 0
    seconds = 0.0
    for line in sorted(lines, key=lambda x: x["test"]):
        ms = 1000 * line["seconds"] / line["requests"] if line["requests"] else 0.0
        pw = line["partial_writes"]
        print(
            f"{line['test']:<60} {line['requests']:>7} requests {line['server_errors']:>3} >=500"
            f"  partial writes {'-' if pw is None else pw:>2}  {line['seconds']:>8.1f} s  {ms:6.1f} ms/request"
        )
        requests += line["requests"]
        errors += line["server_errors"]
        seconds += line["seconds"]
        if pw is not None:
            compared += 1
            partial += pw
    print(
        f"total: {len(lines)} tests, {requests} requests, {errors} answers >= 500, {partial} partial"
        f" writes ({compared} tests compared row counts), {seconds:.0f} s of test time"
    )
    return 1 if errors or partial else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
