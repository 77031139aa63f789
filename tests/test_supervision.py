"""`make run` keeps the site up: a killed worker is replaced, a Redis outage in the middle of a job
loses no petition and no job, a run killed hard is followed by a healthy one, and Ctrl-C stops all.

The real `make run` (ops/run.sh under supervisord) runs as a subprocess on a free port with its own
instance folder, loading only the Huế province (SYNTH_PROVINCE=46) to start quickly. Its output is
kept in test-artifacts/make-run.log, and its end shown when it fails to start. Requests go to 127.0.0.1 only.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import psycopg
import pytest
import requests
from PIL import Image
from redis import Redis
from redis.exceptions import RedisError
from rq import Worker
from rq.job import Job

from tests.factories import petition_fields

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
START_TIMEOUT_S = 180  # a first start creates the cluster, migrates and loads the province
OUTAGE_S = 6


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout: float, every: float = 0.25, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


class MakeRun:
    """One instance folder served by `make run`, started and stopped like a developer would."""

    def __init__(self, base: Path):
        self.base = base
        self.instance = base / "instance"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # As ops/services.sh names it: sockets and pid files of this instance.
        digest = hashlib.sha1(str(self.instance.resolve()).encode()).hexdigest()[:10]
        self.sockdir = Path(f"/tmp/cmts-{digest}")
        self.log = base / "make-run.log"
        self.proc: subprocess.Popen | None = None
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_", "SECRET_KEY"))}
        self.env.update(
            INSTANCE_PATH=str(self.instance),
            PORT=str(self.port),
            WEB_CONCURRENCY="1",
            SYNTH_PROVINCE="46",
            SWEEP_EVERY="2",
            SUBMIT_LIMIT="1000 per minute",
        )
        for name in ("STORAGE_ROOT", "STORAGE_URL", "PROMETHEUS_MULTIPROC_DIR", "MAKEFLAGS", "MFLAGS"):
            self.env.pop(name, None)

    # --- starting and stopping ---

    def start(self) -> None:
        with open(self.log, "ab") as out:
            out.write(b"\n===== make run =====\n")
            self.proc = subprocess.Popen(
                ["make", "run"],
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, as in a terminal
            )

    def wait_healthy(self, timeout: float = START_TIMEOUT_S) -> None:
        def healthy():
            if self.proc.poll() is not None:
                raise AssertionError(f"make run exited with {self.proc.returncode}\n{self.tail()}")
            try:
                return requests.get(self.url + "/healthz", timeout=5).status_code == 200
            except requests.RequestException:
                return False

        try:
            wait_for(healthy, timeout, every=0.5, what="/healthz to answer 200")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{self.tail()}") from None

    def hard_kill(self) -> None:
        """SIGKILL the whole process group of make run, as a closed terminal or the OOM killer might."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def interrupt(self, timeout: float = 90) -> int:
        """Ctrl-C: SIGINT to the foreground process group."""
        os.killpg(self.proc.pid, signal.SIGINT)
        return self.proc.wait(timeout)

    def tail(self, lines: int = 60) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "--- make run output (end) ---\n" + "\n".join(text.splitlines()[-lines:])

    # --- looking inside ---

    def ctl(self, *args: str) -> str:
        env = {**self.env}
        result = subprocess.run(
            [str(ROOT / "ops" / "supervisorctl"), *args], env=env, capture_output=True, text=True, timeout=60
        )
        return result.stdout + result.stderr

    def pid(self, program: str) -> int:
        out = self.ctl("pid", program).strip()
        return int(out) if out.isdigit() else 0

    def redis(self) -> Redis:
        return Redis(unix_socket_path=str(self.sockdir / "redis.sock"), socket_connect_timeout=2, socket_timeout=5)

    def sql(self, query: str, *params):
        with psycopg.connect(host=str(self.sockdir), user="postgres", dbname="portal", connect_timeout=5) as conn:
            return conn.execute(query, params).fetchall()

    def marked(self) -> list[int]:
        """Processes started under supervisord for this instance that are still alive."""
        marker = f"CMTS_RUN={self.instance.resolve()}".encode()
        found = []
        for env in Path("/proc").glob("[0-9]*/environ"):
            try:
                if marker in env.read_bytes().split(b"\0"):
                    found.append(int(env.parent.name))
            except OSError:
                continue
        return found

    def postmaster_running(self) -> bool:
        pidfile = self.instance / "pgdata" / "postmaster.pid"
        if not pidfile.exists():
            return False
        pid = int(pidfile.read_text().split()[0])
        return Path(f"/proc/{pid}").exists()

    def port_listening(self) -> bool:
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", self.port)) == 0

    def cleanup(self) -> None:
        """After the tests, whatever happened: nothing of this instance left running."""
        if self.proc and self.proc.poll() is None:
            try:
                self.interrupt(60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
        for pid in self.marked():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.postmaster_running():
            subprocess.run(
                [str(ROOT / "ops" / "pg_ctl"), "stop", "-s", "-m", "immediate", "-D", str(self.instance / "pgdata")],
                check=False,
            )
        if self.log.exists():
            ARTIFACTS.mkdir(exist_ok=True)
            shutil.copy(self.log, ARTIFACTS / "make-run.log")
        shutil.rmtree(self.base, ignore_errors=True)
        shutil.rmtree(self.sockdir, ignore_errors=True)


@pytest.fixture(scope="module")
def portal():
    base = Path(tempfile.mkdtemp(prefix="cmts-make-run-"))
    base.chmod(0o755)  # the postgres system user must reach the cluster inside
    run = MakeRun(base)
    started = time.monotonic()
    run.start()
    try:
        run.wait_healthy()
        print(f"make run healthy after {time.monotonic() - started:.1f} s (first start)")
        yield run
    finally:
        run.cleanup()


# --- a citizen's petition over HTTP ---


def jpeg(side: int, seed: int = 1) -> bytes:
    """A photo-like JPEG of side × side pixels (smooth noise, so it compresses like a photo)."""
    small = np.random.default_rng(seed).integers(0, 255, (max(side // 10, 8), max(side // 10, 8), 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(small).resize((side, side), Image.BICUBIC).save(out, "JPEG", quality=80)
    return out.getvalue()


def submit(run: MakeRun, photos: list[bytes] = ()) -> str:
    """Send the petition form as a browser would (CSRF token from the form page); return the tracking code."""
    browser = requests.Session()
    page = browser.get(run.url + "/petitions/new", timeout=15)
    assert page.status_code == 200
    tag = re.search(r'<input[^>]*name="csrf_token"[^>]*>', page.text).group(0)
    token = re.search(r'value="([^"]+)"', tag).group(1)
    fields = {"csrf_token": token, **petition_fields()}
    files = [("photos", (f"p{i}.jpg", data, "image/jpeg")) for i, data in enumerate(photos)]
    response = browser.post(
        run.url + "/petitions", data=fields, files=files or None, headers={"Accept": "application/json"}, timeout=30
    )
    assert response.status_code == 201, response.text[:500]
    return response.json()["tracking_code"]


def photo_statuses(run: MakeRun, code: str) -> list[str]:
    rows = run.sql(
        """SELECT ph.status FROM petition_photos ph JOIN petitions p ON p.id = ph.petition_id
           WHERE p.tracking_code = %s ORDER BY ph.id""",
        code.replace("-", ""),
    )
    return [status for (status,) in rows]


def rq_statuses(run: MakeRun, code: str) -> list[str]:
    """What RQ says of the latest hand-over of each photo job of a petition."""
    rows = run.sql(
        """SELECT o.id, o.attempts FROM job_outbox o
           JOIN petition_photos ph ON ph.id = (o.args->>0)::bigint AND o.job = 'process_photo'
           JOIN petitions p ON p.id = ph.petition_id
           WHERE p.tracking_code = %s AND o.attempts > 0""",
        code.replace("-", ""),
    )
    try:
        jobs = Job.fetch_many([f"outbox-{id}-{attempts - 1}" for id, attempts in rows], connection=run.redis())
    except RedisError:
        return []
    return [job.get_status(refresh=False) for job in jobs if job is not None]


def workers(run: MakeRun) -> list[Worker]:
    try:
        return Worker.all(connection=run.redis())
    except RedisError:
        return []


# --- the tests: (a) a killed worker ---


def test_a_worker_killed_with_sigkill_is_replaced_and_the_site_stays_up(portal):
    old = portal.pid("worker")
    wait_for(lambda: any(w.pid == old for w in workers(portal)), 60, what="the worker in RQ's registry")
    os.kill(old, signal.SIGKILL)
    assert requests.get(portal.url + "/", timeout=10).status_code == 200
    new = wait_for(lambda: (p := portal.pid("worker")) not in (0, old) and p, 30, what="a new worker process")
    wait_for(lambda: any(w.pid == new for w in workers(portal)), 60, what="the new worker in RQ's registry")
    # The new worker does the work: a photo sent now is processed.
    code = submit(portal, [jpeg(400)])
    wait_for(lambda: photo_statuses(portal, code) == ["ready"], 60, what="the photo to be processed")
    assert requests.get(portal.url + "/", timeout=10).status_code == 200


def test_a_second_make_run_of_the_same_instance_is_refused_and_leaves_the_first_alone(portal):
    second = subprocess.run(
        [str(ROOT / "ops" / "run.sh")], cwd=ROOT, env=portal.env, capture_output=True, text=True, timeout=120
    )
    assert second.returncode != 0
    assert "already running" in second.stdout + second.stderr
    assert requests.get(portal.url + "/healthz", timeout=10).status_code == 200
    assert "RUNNING" in portal.ctl("status", "web")


# --- (b) Redis away while a job runs ---


def test_with_redis_stopped_mid_job_petitions_are_taken_and_every_job_completes(portal):
    big = jpeg(6000)  # 36 megapixels: each photo job runs for a while
    first = submit(portal, [big] * 2)
    # Its job is running: the work horse has told RQ (status "started") and is in the job itself.
    wait_for(lambda: "started" in rq_statuses(portal, first), 60, every=0.05, what="a photo job to start")
    out = portal.ctl("stop", "redis")
    stopped = time.monotonic()
    assert "stopped" in out, out
    with pytest.raises(RedisError):
        portal.redis().ping()

    codes = [submit(portal, [jpeg(300, seed=2)])]  # its photo's job waits in the outbox
    while time.monotonic() - stopped < OUTAGE_S or len(codes) < 8:
        codes.append(submit(portal))
        assert requests.get(portal.url + "/", timeout=10).status_code == 200
    with pytest.raises(RedisError):
        portal.redis().ping()  # it really was away all along
    assert "started" in portal.ctl("start", "redis")

    # Every acknowledged petition is stored.
    stored = {
        c
        for (c,) in portal.sql(
            "SELECT tracking_code FROM petitions WHERE tracking_code = ANY(%s)", [c.replace("-", "") for c in codes]
        )
    }
    assert stored == {c.replace("-", "") for c in codes}
    # The photos of the petition whose job was running, and of the one sent during the outage, are all processed.
    wait_for(lambda: photo_statuses(portal, first) == ["ready"] * 2, 120, what="the big photos to be processed")
    wait_for(lambda: photo_statuses(portal, codes[0]) == ["ready"], 60, what="the outage's photo to be processed")
    assert portal.sql("SELECT count(*) FROM job_outbox WHERE done_at IS NULL")[0][0] == 0
    wait_for(lambda: workers(portal), 30, what="a worker registered again")
    assert "RUNNING" in portal.ctl("status", "worker")


# --- (c) make run killed hard, then started again ---


def test_after_make_run_is_killed_hard_the_next_one_comes_up_healthy(portal):
    code = submit(portal)
    assert portal.marked()
    portal.hard_kill()
    # Nothing it supervised outlives it (their parent-death signal)...
    wait_for(lambda: not portal.marked(), 30, what="the killed run's programs to stop")
    assert not portal.port_listening()
    # ...while its PostgreSQL does, as it did before (pg_ctl's daemon), for the next run to find.
    assert portal.postmaster_running()

    started = time.monotonic()
    portal.start()
    portal.wait_healthy()
    print(f"make run healthy after {time.monotonic() - started:.1f} s (after a hard kill)")
    assert requests.get(f"{portal.url}/petitions/{code}", timeout=10).status_code == 200
    status = portal.ctl("status")
    assert all(f"{name} " in status for name in ("web", "worker", "scheduler", "sweeper", "redis")), status
    # The site may answer before supervisord counts the web program as started (its startsecs).
    wait_for(lambda: portal.ctl("status").count("RUNNING") == 5, 30, what="all five programs RUNNING")


# --- (d) Ctrl-C ---


def test_ctrl_c_stops_everything_make_run_started(portal):
    assert portal.interrupt() is not None
    assert not portal.marked()
    assert not portal.postmaster_running()
    assert not (portal.sockdir / "supervisord.pid").exists()
    assert not portal.port_listening()


def test_a_socket_folder_another_user_made_first_is_refused_and_left_untouched(tmp_path):
    # The folder's name under /tmp can be guessed: someone who makes it first (here a link
    # to a folder of theirs) must neither get the database's sockets nor have it chowned.
    run = MakeRun(tmp_path)
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    run.sockdir.symlink_to(theirs)
    try:
        refused = subprocess.run(
            [str(ROOT / "ops" / "run.sh")], cwd=ROOT, env=run.env, capture_output=True, text=True, timeout=120
        )
        assert refused.returncode != 0
        assert "is not the portal's own" in refused.stderr
        assert theirs.stat().st_uid == os.getuid() and list(theirs.iterdir()) == []
        assert not (run.instance / "pgdata").exists()  # nothing was started
    finally:
        run.sockdir.unlink()
