"""Run every benchmark and print one table: figure, value, baseline, ratio."""

from __future__ import annotations

import platform
import sys

from bench import geodata
from bench.table import Table


def main() -> int:
    table = Table()
    geodata.run(table)
    print()
    print(f"Machine: {platform.machine()}, {_cores()} cores, Python {platform.python_version()}")
    print(table.render())
    return 0


def _cores() -> int:
    import os

    return len(os.sched_getaffinity(0))


if __name__ == "__main__":
    sys.exit(main())
