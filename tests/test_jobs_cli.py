"""`flask jobs scheduler`: RQ's scheduler stands by while another holds the lock, and takes over once it is free."""

from __future__ import annotations

import threading
import time

from rq.scheduler import RQScheduler

from app.jobs import cli
from app.redis_conn import redis

LOCK = "rq:scheduler-lock:default"


def test_a_standby_scheduler_takes_over_once_the_lock_is_free(client, runner, monkeypatch):
    redis().set(LOCK, "other-node", ex=60)  # another scheduler holds the queue
    monkeypatch.setattr(cli, "STANDBY_EVERY_S", 0.1)
    working = []
    monkeypatch.setattr(RQScheduler, "work", lambda self: working.append(self.name))
    result = {}
    thread = threading.Thread(target=lambda: result.setdefault("r", runner.invoke(args=["jobs", "scheduler"])))
    thread.start()
    time.sleep(1)
    assert thread.is_alive() and not working  # standing by
    assert redis().get(LOCK) == b"other-node"
    redis().delete(LOCK)  # the other one stopped (or its lock ran out)
    thread.join(10)
    assert not thread.is_alive()
    assert "standing by" in result["r"].output
    assert working and redis().get(LOCK) == working[0].encode()
