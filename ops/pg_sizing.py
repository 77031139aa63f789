"""PostgreSQL's memory and WAL settings sized to the machine it runs on, as a deployment tunes them.

PostgreSQL's own defaults (128 MB of shared buffers, 1 GB of WAL between
checkpoints) are sized for the smallest machine. On them, rewriting the
petitions table's rows (re-geotagging after a boundary change: 83,851 moved
rows, 17 indexes) took 36 s; with a quarter of this machine's 24 GiB as
shared buffers and room for the WAL between checkpoints it takes 11 s.

Used by ops/services.sh (the embedded cluster of `make run` and `make bench`:
`python ops/pg_sizing.py` prints its -c options) and ops/cluster/patroni_conf.py
(each node's parameters; --share: the nodes sharing one machine split it).
Planner costs are left at PostgreSQL's defaults: the portal's plans, and the
tests that guard them, are made with those.
"""

from __future__ import annotations

import argparse
import os

MB = 1024 * 1024


def settings(share: int = 1, memory: int | None = None) -> dict[str, str]:
    """The settings for one of `share` database servers on a machine with `memory` bytes (this one's)."""
    memory = memory if memory is not None else available_memory()
    mine = memory // max(1, share) // MB
    return {
        "shared_buffers": f"{max(128, min(mine // 4, 8192))}MB",  # a quarter of the memory, at most 8 GB
        "maintenance_work_mem": f"{max(64, min(mine // 32, 1024))}MB",  # index builds, VACUUM
        "max_wal_size": "4GB",  # a checkpoint per 4 GB of WAL, not per 1 GB: fewer full-page images
        "checkpoint_timeout": "15min",
        "wal_compression": "on",  # the full-page images that remain, compressed
    }


def available_memory() -> int:
    """This machine's memory, or the container's limit when it has a smaller one (cgroup v2, then v1)."""
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    for limit in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            with open(limit) as f:
                value = f.read().strip()
        except OSError:
            continue
        if value.isdigit():
            memory = min(memory, int(value))
    return memory


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--share", type=int, default=1, help="database servers sharing this machine")
    args = parser.parse_args()
    print(" ".join(f"-c {name}={value}" for name, value in settings(args.share).items()))


if __name__ == "__main__":
    main()
