"""The failover drill (`make drill ARGS=failover`): citizens keep sending petitions through nginx while
the primary database of a replicated cluster (`make cluster` with CLUSTER_DATABASE=patroni) is lost,
then every tracking code they got is checked against the new primary.

While CLIENTS threads send PETITIONS citizen forms (as in ops/drill.py: each from an address of its own,
with the form's CSRF token and idempotency key and a small photo, spread evenly over DURATION seconds),
at KILL_AT of the load it loses the primary's machine: its Patroni is frozen (SIGSTOP: it can no longer
renew the primary's lease in etcd) and its postmaster killed (SIGKILL). It times how long until another
node is promoted, then lets the frozen Patroni die too; supervisord starts it again and it rejoins as a
standby. A request that got no acknowledgement is a client error and is sent again with the same
idempotency key, as a phone's offline queue does. At the end every acknowledged tracking code is looked
up on the new primary (the same title and text), petitions stored twice are counted, and one line says:

    drill: N acknowledged, N stored, lost 0, duplicated 0, failover T s, client errors E

It exits non-zero if anything was lost or duplicated or a citizen gave up. Traffic goes to 127.0.0.1 only;
every loop is bounded. The cluster's addresses come from <instance>/cluster.env (ops/cluster.sh).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
import uuid
from pathlib import Path

import psycopg
import requests
from drill import (
    Citizens,
    active_categories,
    check_load,
    duplicated,
    load_arguments,
    log,
    program_pid,
    sample_points,
    stored,
)


class Node:
    """One database node of the cluster: its Patroni (a supervisord program), REST API and data folder."""

    def __init__(self, n: int):
        self.n, self.name = n, f"db{n}"
        base = int(os.environ.get("CLUSTER_DB_BASE_PORT", "5440"))
        self.api = f"http://127.0.0.1:{base + 1000 + n}"
        self.data = Path(os.environ["INSTANCE"]) / "patroni" / self.name

    def state(self) -> dict:
        try:
            return requests.get(f"{self.api}/patroni", timeout=1).json()
        except (requests.RequestException, ValueError):
            return {}

    def role(self) -> str:
        state = self.state()
        return state.get("role", "") if state.get("state") == "running" else ""

    def patroni_pid(self) -> int:
        return program_pid(f"db:{self.name}")

    def postmaster_pid(self) -> int:
        try:
            return int((self.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return 0


def nodes() -> list[Node]:
    return [Node(n) for n in range(1, int(os.environ.get("CLUSTER_DB_NODES", "2")) + 1)]


def primary_of(all_nodes: list[Node]) -> Node | None:
    return next((node for node in all_nodes if node.role() in ("master", "primary")), None)


def lose_primary(args, citizens: Citizens, report: list[str], timing: dict) -> None:
    """At KILL_AT of the load: freeze the primary's Patroni, kill its postmaster, time the promotion."""
    delay = citizens.started + args.kill_at * args.duration - time.monotonic()
    if delay > 0:
        time.sleep(delay)

    def stamp(text: str) -> None:
        line = f"[{time.monotonic() - citizens.started:5.1f} s] {text}"
        report.append(line)
        log(line)

    all_nodes = nodes()
    old = primary_of(all_nodes)
    if old is None:
        stamp("no primary found: nothing killed")
        return
    sync = old.state().get("replication", [])
    stamp(f"primary {old.name}; standbys {[(r.get('application_name'), r.get('sync_state')) for r in sync]}")
    patroni, postmaster = old.patroni_pid(), old.postmaster_pid()
    os.kill(patroni, signal.SIGSTOP)  # the machine's Patroni stops answering and renewing the lease
    os.kill(postmaster, signal.SIGKILL)
    killed = timing["killed"] = time.monotonic()
    stamp(f"{old.name}: Patroni frozen (pid {patroni}), postmaster killed (pid {postmaster})")
    others = [node for node in all_nodes if node is not old]
    new = None
    while time.monotonic() - killed < args.promotion_limit:
        new = primary_of(others)
        if new is not None:
            break
        time.sleep(0.2)
    if new is None:
        stamp(f"no standby was promoted within {args.promotion_limit:.0f} s")
        os.kill(patroni, signal.SIGKILL)
        return
    timing["failover"] = time.monotonic() - killed
    stamp(f"{new.name} promoted after {timing['failover']:.1f} s")
    os.kill(patroni, signal.SIGKILL)  # supervisord starts it again: the old primary comes back
    rejoined = time.monotonic()
    while time.monotonic() - rejoined < args.rejoin_limit:
        if old.role() == "replica":
            stamp(f"{old.name} rejoined as a standby after {time.monotonic() - rejoined:.1f} s")
            return
        time.sleep(1)
    stamp(f"{old.name} has not rejoined as a standby within {args.rejoin_limit:.0f} s")


def intake_pause(acked: list, killed: float | None) -> float | None:
    """The longest time without any acknowledgement around the loss of the primary (what citizens felt)."""
    if killed is None:
        return None
    times = sorted(s.acked_at for s in acked)
    before = [t for t in times if t <= killed]
    after = [t for t in times if t > killed]
    if not before or not after:
        return None
    gaps = [b - a for a, b in zip([before[-1], *after], after, strict=False)]
    return max(gaps[: 1 + len([t for t in after if t - killed < 120])])


def new_primary() -> str:
    """Which node DATABASE_URL reaches now (the one that takes writes), by its port."""
    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
        in_recovery, port = conn.execute("SELECT pg_is_in_recovery(), current_setting('port')").fetchone()
    assert not in_recovery, "DATABASE_URL reached a standby"
    return port


def main(argv: list[str] | None = None) -> int:
    parser = load_arguments(
        "The failover drill: petitions while the primary is lost.", petitions=1200, duration=120, photo_side=320
    )
    parser.add_argument("--kill-at", type=float, default=0.4, help="when the primary is lost (share of duration)")
    parser.add_argument("--promotion-limit", type=float, default=120)
    parser.add_argument("--rejoin-limit", type=float, default=120)
    args = parser.parse_args(argv)
    check_load(parser, args)
    if not 0 < args.kill_at < 1:
        parser.error("--kill-at within the load")
    if os.environ.get("CLUSTER_DATABASE") != "patroni":
        parser.error("the cluster runs one database: start it with CLUSTER_DATABASE=patroni")

    run_id = uuid.uuid4().hex[:6]
    citizens = Citizens(args, run_id, sample_points(args.petitions), active_categories())
    log(f"run {run_id}: {args.petitions} petitions from {args.clients} clients over {args.duration:.0f} s")
    report: list[str] = []
    timing: dict = {}
    fault = threading.Thread(target=lose_primary, args=(args, citizens, report, timing), daemon=True)
    threading.Timer(0.05, fault.start).start()
    started = time.monotonic()
    citizens.run()
    fault.join(args.promotion_limit + args.rejoin_limit + 30)
    load_s = time.monotonic() - started

    tally = citizens.tally
    acked = [s for s in tally.sent if s.code]
    port_now = new_primary()
    found = stored(acked)  # on the new primary: DATABASE_URL reaches only the node that takes writes
    ok = [s for s in acked if found.get(s.code.replace("-", "")) == (s.title, s.body_sha)]
    dupes = duplicated(run_id)
    gave_up = sum(s.outcome == "gave up" for s in tally.sent)
    refused = [s.outcome for s in tally.sent if s.outcome.startswith("refused")]
    pause = intake_pause(acked, timing.get("killed"))
    paused = "?" if pause is None else f"{pause:.1f}"
    log(
        f"load {load_s:.1f} s; no petition acknowledged for {paused} s around the loss; checked on the primary "
        f"at port {port_now}; {tally.retried_posts} forms sent again, {gave_up} given up, {len(refused)} refused"
    )
    lost = len(acked) - len(ok)
    failover = f"{timing['failover']:.1f}" if "failover" in timing else "none"
    print(
        f"drill: {len(acked)} acknowledged, {len(ok)} stored, lost {lost}, duplicated {dupes}, "
        f"failover {failover} s, client errors {tally.client_errors}",
        flush=True,
    )
    return 1 if lost or dupes or gave_up or refused or "failover" not in timing else 0


if __name__ == "__main__":
    sys.exit(main())
