"""`make bench`: run every benchmark in bench/ one after another (each prints its baseline)."""

import subprocess
import sys
from pathlib import Path


def main() -> None:
    failed = []
    for path in sorted(Path(__file__).parent.glob("bench_*.py")):
        print(f"\n=== {path.stem} ===", flush=True)
        if subprocess.run([sys.executable, "-m", f"bench.{path.stem}"]).returncode:
            failed.append(path.stem)
    if failed:
        sys.exit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
