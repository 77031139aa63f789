"""Run every benchmark and print one table: figure, value, baseline, ratio."""

from __future__ import annotations

import platform
import sys

from bench import geodata, inbox, locate, maps, regeotag, submit, villages, voices, wire
from bench.table import Table


def main() -> int:
    only = set(sys.argv[1:])  # e.g. `make bench ARGS=submit`; all when empty
    table = Table()
    modules = (
        ("geodata", geodata),
        ("locate", locate),
        ("submit", submit),
        ("voices", voices),
        ("inbox", inbox),
        ("maps", maps),
        ("regeotag", regeotag),
        ("villages", villages),
        ("wire", wire),
    )
    for name, module in modules:
        if not only or name in only:
            module.run(table)
    print()
    print(f"Machine: {platform.machine()}, {_cores()} cores, Python {platform.python_version()}")
    print(table.render())
    return 0


def _cores() -> int:
    import os

    return len(os.sched_getaffinity(0))


if __name__ == "__main__":
    sys.exit(main())
