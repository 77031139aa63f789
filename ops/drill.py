"""The cluster drill (`make drill`): citizens keep sending petitions with photos
through nginx while parts of the cluster fail, then every tracking code they
got is checked against the database.

While CLIENTS threads send PETITIONS citizen forms (each citizen from an address
of its own in 127.0.0.0/8, with a session cookie and the form's CSRF token and
idempotency key, one photo each, spread evenly over DURATION seconds), it:

1. kills one web node (SIGKILL to its gunicorn master and workers); supervisord
   starts it again and nginx routes around it meanwhile;
2. kills one RQ worker while it runs a photo job (SIGKILL to the worker and the
   work horse running the job, found in RQ's started-job registry);
3. stops Redis for REDIS_DOWN seconds, then starts it again.

A request that got no acknowledgement (a 5xx or a connection error) is a
client error; the citizen's phone sends the same form again, with the same
idempotency key, as the portal's offline queue does. Then the drill waits for
the photo jobs to drain, checks every acknowledged tracking code (the petition
exists with the same title and text, its photo processed and served through
nginx), counts petitions stored twice, and ends with one line:

    drill: N acknowledged, N stored, lost 0, photos processed P/P, client errors E

It exits non-zero if anything was lost. Traffic goes to 127.0.0.1 only, and
every loop is bounded in count and time. The cluster's addresses come from the
environment that ops/cluster.sh writes to <instance>/cluster.env.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import requests
from PIL import Image
from redis import Redis
from redis.exceptions import RedisError
from requests.adapters import HTTPAdapter
from rq import Worker
from rq.job import Job
from rq.registry import StartedJobRegistry

ROOT = Path(__file__).resolve().parent.parent
SUPERVISORCTL = ROOT / "ops" / "cluster" / "supervisorctl"
CODE = re.compile(r"/petitions/([A-Z0-9-]+)\?new=1")
CSRF = re.compile(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"')
KEY = re.compile(r'<input[^>]*name="idempotency_key"[^>]*value="([0-9a-fA-F-]+)"')
BACKOFF = (0.5, 1, 2, 4, 8, 8, 8, 8, 8, 8)  # a phone's offline queue, about a minute in all


def log(message: str) -> None:
    print(f"  {message}", flush=True)


class FromAddress(HTTPAdapter):
    """Connections from one source address: each citizen has an address of its own."""

    def __init__(self, address: str):
        self.address = address
        super().__init__(max_retries=0)

    def init_poolmanager(self, connections, maxsize, block=False, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(connections, maxsize, block, **kwargs)


@dataclass
class Sent:
    """One citizen's petition as sent, and what came back."""

    n: int
    title: str
    body_sha: str
    address: str
    code: str | None = None
    outcome: str = ""  # acknowledged | gave up | refused <status>
    acked_at: float = 0.0  # time.monotonic() of the acknowledgement


@dataclass
class Tally:
    lock: threading.Lock = field(default_factory=threading.Lock)
    client_errors: int = 0
    retried_posts: int = 0
    sent: list[Sent] = field(default_factory=list)

    def error(self) -> None:
        with self.lock:
            self.client_errors += 1


class Citizens:
    """The load: citizens sending the form, paced evenly over the drill."""

    def __init__(self, args, run_id: str, points: list[tuple[float, float]], categories: list[str]):
        self.args, self.run_id, self.points, self.categories = args, run_id, points, categories
        self.tally = Tally()
        self.next = 0
        self.next_lock = threading.Lock()
        self.started = 0.0
        self.base_photo = _noise_photo(args.photo_side)

    def run(self) -> None:
        self.started = time.monotonic()
        threads = [threading.Thread(target=self._client, daemon=True) for _ in range(self.args.clients)]
        for thread in threads:
            thread.start()
        deadline = self.started + self.args.duration + self.args.grace
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def _client(self) -> None:
        interval = self.args.duration / self.args.petitions
        while True:
            with self.next_lock:
                n = self.next
                self.next += 1
            if n >= self.args.petitions:
                return
            delay = self.started + n * interval - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            if time.monotonic() > self.started + self.args.duration + self.args.grace:
                return
            self._send(n)

    def _send(self, n: int) -> None:
        rng = random.Random(f"{self.run_id}-{n}")
        address = f"127.{rng.randint(1, 254)}.{rng.randint(1, 254)}.{rng.randint(2, 254)}"
        title = f"Diễn tập {self.run_id} số {n}: đường thôn ngập"
        body = f"Đoạn đường qua thôn ngập sâu sau mưa (lần {n}, {uuid.uuid4().hex[:8]}); trẻ em không đi học được."
        sent = Sent(n, title, hashlib.sha256(body.encode()).hexdigest(), address)
        with self.tally.lock:
            self.tally.sent.append(sent)
        session = requests.Session()
        session.mount("http://", FromAddress(address))
        url = self.args.url
        form = self._get_form(session, url)
        if form is None:
            sent.outcome = "gave up"
            return
        csrf, key = form
        lon, lat = rng.choice(self.points)
        data = {
            "csrf_token": csrf,
            "idempotency_key": key,
            "title": title,
            "body": body,
            "category": rng.choice(self.categories),
            "lat": f"{lat:.6f}",
            "lon": f"{lon:.6f}",
            "accuracy_m": "15",
            "location_source": "gps",
            "anonymous": "y",
            "publish": "n",
            "consent": "y",
            "action": "submit",
        }
        photo = _variant(self.base_photo, n)
        for attempt, pause in enumerate((0, *BACKOFF)):
            time.sleep(pause)
            if attempt:
                with self.tally.lock:
                    self.tally.retried_posts += 1
            try:
                response = session.post(
                    f"{url}/petitions",
                    data=data,
                    files=[("photos", (f"anh-{n}.jpg", photo, "image/jpeg"))],
                    allow_redirects=False,
                    timeout=60,
                )
            except requests.RequestException:
                self.tally.error()
                continue
            if response.status_code >= 500:
                self.tally.error()
                continue
            match = CODE.search(response.headers.get("Location", ""))
            if response.status_code == 303 and match:
                sent.code, sent.outcome, sent.acked_at = match.group(1), "acknowledged", time.monotonic()
            else:
                sent.outcome = f"refused {response.status_code}"
                log(f"petition {n} refused with {response.status_code}: {response.text[:200]!r}")
            return
        sent.outcome = "gave up"

    def _get_form(self, session: requests.Session, url: str) -> tuple[str, str] | None:
        for pause in (0, *BACKOFF):
            time.sleep(pause)
            try:
                response = session.get(f"{url}/petitions/new", timeout=30)
            except requests.RequestException:
                self.tally.error()
                continue
            if response.status_code >= 500:
                self.tally.error()
                continue
            csrf, key = CSRF.search(response.text), KEY.search(response.text)
            if response.status_code == 200 and csrf and key:
                return csrf.group(1), key.group(1)
            log(f"the form page answered {response.status_code} without a form")
            return None
        return None


def _noise_photo(side: int) -> Image.Image:
    """A photo-sized image of noise: as costly to re-encode as a real photo of that size."""
    size = (side, side * 3 // 4)
    return Image.merge("RGB", [Image.effect_noise(size, 60) for _ in range(3)])


def _variant(base: Image.Image, n: int) -> bytes:
    """A JPEG of its own for petition n."""
    image = base.copy()
    image.paste((n * 37 % 256, n * 91 % 256, n * 13 % 256), (0, 0, 64, 64))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


# --- faults ---


def supervisorctl(*args: str) -> str:
    result = subprocess.run([str(SUPERVISORCTL), *args], capture_output=True, text=True, timeout=60)
    return result.stdout.strip()


def program_pid(name: str) -> int:
    out = supervisorctl("pid", name)
    return int(out) if out.isdigit() else 0


def wait_restarted(name: str, old_pid: int, limit: float = 60) -> float | None:
    """Seconds until supervisord runs the program again under a new pid (None: not within limit)."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        pid = program_pid(name)
        if pid and pid != old_pid and "RUNNING" in supervisorctl("status", name):
            return time.monotonic() - started
        time.sleep(0.5)
    return None


def kill_web_node(name: str) -> str:
    """SIGKILL a web node whole: its gunicorn master and workers (one process group)."""
    pid = program_pid(name)
    if not pid:
        return f"web node {name}: not running, not killed"
    os.killpg(pid, signal.SIGKILL)
    back = wait_restarted(name, pid)
    return f"web node {name} killed (pid {pid}); " + (f"running again after {back:.1f} s" if back else "NOT restarted")


def children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def kill_worker_mid_photo(redis: Redis, worker_pids: dict[int, str], limit: float) -> tuple[str, int | None]:
    """SIGKILL a worker and its work horse while it runs a photo job; the photo's id, if one was caught."""
    registry = StartedJobRegistry("default", connection=redis)
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            for job_id in registry.get_job_ids():
                job = Job.fetch(job_id.split(":")[0], connection=redis)
                if not job.func_name.endswith("process_photo") or not job.worker_name:
                    continue
                worker = Worker.find_by_key(Worker.redis_worker_namespace_prefix + job.worker_name, connection=redis)
                if worker is None or worker.pid not in worker_pids:
                    continue
                horses = children(worker.pid)
                if not horses:
                    continue
                for horse in horses:
                    os.kill(horse, signal.SIGKILL)
                os.kill(worker.pid, signal.SIGKILL)
                name = worker_pids[worker.pid]
                back = wait_restarted(name, worker.pid)
                photo_id = job.args[1]
                return (
                    f"worker {name} killed (pid {worker.pid}, work horse {horses}) while it ran {job.id} "
                    f"(photo {photo_id}); " + (f"running again after {back:.1f} s" if back else "NOT restarted"),
                    photo_id,
                )
        except (RedisError, ValueError, LookupError):
            pass
        time.sleep(0.02)
    return f"no photo job caught running within {limit:.0f} s: no worker killed", None


def stop_redis(seconds: float) -> str:
    supervisorctl("stop", "redis")
    stopped = time.monotonic()
    time.sleep(seconds)
    supervisorctl("start", "redis")
    return f"Redis stopped for {time.monotonic() - stopped:.1f} s, then started again"


def faults(args, citizens: Citizens, redis: Redis, report: list[str], killed_photo: list[int]) -> None:
    """Fail one part after another at fixed moments of the load."""

    def at(fraction: float) -> None:
        delay = citizens.started + fraction * args.duration - time.monotonic()
        if delay > 0:
            time.sleep(delay)

    def stamp(text: str) -> None:
        line = f"[{time.monotonic() - citizens.started:5.1f} s] {text}"
        report.append(line)
        log(line)

    nodes = [f"web:web{n}" for n in range(1, int(os.environ.get("CLUSTER_WEB_NODES", "2")) + 1)]
    workers = {
        program_pid(f"worker:worker{n}"): f"worker:worker{n}"
        for n in range(1, int(os.environ.get("CLUSTER_WORKERS", "2")) + 1)
    }
    at(0.15)
    stamp(kill_web_node(nodes[0]))
    at(0.35)
    text, photo_id = kill_worker_mid_photo(redis, workers, limit=0.15 * args.duration)
    stamp(text)
    if photo_id is not None:
        killed_photo.append(photo_id)
    at(0.55)
    stamp(stop_redis(args.redis_down))


# --- checks ---


def db_connect() -> psycopg.Connection:
    return psycopg.connect(os.environ["DATABASE_URL"], autocommit=True)


def sample_points(count: int) -> list[tuple[float, float]]:
    with db_connect() as conn:
        rows = conn.execute(
            """SELECT ST_X(a.label_point), ST_Y(a.label_point) FROM areas a
               JOIN generations g ON g.id = a.generation_id AND g.is_current
               WHERE a.level = 'village' ORDER BY random() LIMIT %s""",
            (count,),
        ).fetchall()
    return [(lon, lat) for lon, lat in rows] or [(107.58, 16.46)]


def active_categories() -> list[str]:
    """The categories a citizen may choose without answering questions (the drill's form answers none)."""
    with db_connect() as conn:
        rows = conn.execute(
            """SELECT code FROM categories c WHERE active AND NOT EXISTS (SELECT 1 FROM category_questions q
               WHERE q.category_code = c.code AND q.active AND q.required) ORDER BY code"""
        )
        return [code for (code,) in rows]


def photo_states(codes: list[str]) -> dict[str, list[tuple[int, str]]]:
    with db_connect() as conn:
        rows = conn.execute(
            """SELECT p.tracking_code, ph.id, ph.status FROM petitions p
               JOIN petition_photos ph ON ph.petition_id = p.id WHERE p.tracking_code = ANY(%s)""",
            (codes,),
        ).fetchall()
    states: dict[str, list[tuple[int, str]]] = {}
    for code, photo_id, status in rows:
        states.setdefault(code, []).append((photo_id, status))
    return states


def drain(codes: list[str], limit: float) -> float:
    """Wait until no photo of these petitions is pending; the seconds it took."""
    started = time.monotonic()
    last_said = 0.0
    while time.monotonic() - started < limit:
        pending = sum(status == "pending" for photos in photo_states(codes).values() for _, status in photos)
        if not pending:
            break
        if time.monotonic() - last_said >= 15:
            log(f"waiting for the queues: {pending} photos pending after {time.monotonic() - started:.0f} s")
            last_said = time.monotonic()
        time.sleep(1)
    return time.monotonic() - started


def stored(sent: list[Sent]) -> dict[str, tuple[str, str]]:
    """The acknowledged codes found in the database, with their title and text hash."""
    codes = [s.code.replace("-", "") for s in sent if s.code]
    with db_connect() as conn:
        rows = conn.execute(
            "SELECT tracking_code, title, body FROM petitions WHERE tracking_code = ANY(%s)", (codes,)
        ).fetchall()
    return {code: (title, hashlib.sha256(body.encode()).hexdigest()) for code, title, body in rows}


def duplicated(run_id: str) -> int:
    """Petitions of this run stored more than once (the same title in several rows)."""
    with db_connect() as conn:
        return conn.execute(
            """SELECT count(*) FROM (SELECT title FROM petitions WHERE title LIKE %s
               GROUP BY title HAVING count(*) > 1) d""",
            (f"Diễn tập {run_id} số %",),
        ).fetchone()[0]


def photo_served(url: str, address: str, code: str, photo_id: int) -> bool:
    """The processed photo, as its citizen opens it through nginx (from any node: the object store)."""
    session = requests.Session()
    session.mount("http://", FromAddress(address))
    for pause in (0, 1, 2):
        time.sleep(pause)
        try:
            response = session.get(f"{url}/petitions/{code}/photos/{photo_id}", timeout=30)
        except requests.RequestException:
            continue
        if response.status_code == 200 and response.headers.get("Content-Type") == "image/jpeg":
            try:
                Image.open(io.BytesIO(response.content)).verify()
            except Exception:  # noqa: BLE001 — any decoding failure means the photo is not served
                return False
            return True
    return False


def load_arguments(description: str, *, petitions: int, duration: float, photo_side: int) -> argparse.ArgumentParser:
    """The arguments of a drill's citizens: where they send, how many of them, how many forms over how long."""
    parser = argparse.ArgumentParser(description=description)
    port = os.environ.get("CLUSTER_PORT", "8080")
    parser.add_argument("--url", default=f"http://127.0.0.1:{port}")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--petitions", type=int, default=petitions)
    parser.add_argument("--duration", type=float, default=duration, help="seconds the petitions are spread over")
    parser.add_argument("--grace", type=float, default=120, help="seconds past the duration for the last ones")
    parser.add_argument("--photo-side", type=int, default=photo_side, help="photo width in pixels")
    return parser


def check_load(parser: argparse.ArgumentParser, args) -> None:
    """A drill loads this machine only, and within bounds."""
    if not args.url.startswith(("http://127.0.0.1:", "http://localhost:")):
        parser.error("the drill sends traffic to this machine only (http://127.0.0.1:…)")
    if not 1 <= args.clients <= 64 or not 1 <= args.petitions <= 5000:
        parser.error("at most 64 clients and 5000 petitions")


def main(argv: list[str] | None = None) -> int:
    parser = load_arguments(
        "The cluster drill: petitions with photos while parts fail.", petitions=400, duration=100, photo_side=1600
    )
    parser.add_argument("--redis-down", type=float, default=20)
    parser.add_argument("--drain", type=float, default=900, help="at most this long for the queues to drain")
    args = parser.parse_args(argv)
    check_load(parser, args)

    run_id = uuid.uuid4().hex[:6]
    redis = Redis.from_url(os.environ["REDIS_URL"], socket_connect_timeout=2, socket_timeout=5)
    citizens = Citizens(args, run_id, sample_points(args.petitions), active_categories())
    log(f"run {run_id}: {args.petitions} petitions with a photo from {args.clients} clients over {args.duration:.0f} s")
    report: list[str] = []
    killed_photo: list[int] = []
    chaos = threading.Thread(target=faults, args=(args, citizens, redis, report, killed_photo), daemon=True)
    load_started = time.monotonic()
    chaos_started = threading.Timer(0.05, chaos.start)
    chaos_started.start()
    citizens.run()
    chaos.join(args.redis_down + 120)
    load_s = time.monotonic() - load_started

    tally = citizens.tally
    acked = [s for s in tally.sent if s.code]
    codes = [s.code.replace("-", "") for s in acked]
    log(f"load done in {load_s:.1f} s; waiting for the photo jobs")
    drain_s = drain(codes, args.drain)
    found = stored(acked)
    ok = [s for s in acked if found.get(s.code.replace("-", "")) == (s.title, s.body_sha)]
    states = photo_states(codes)
    by_code = {s.code.replace("-", ""): s for s in acked}
    photos_expected = len(acked)  # one photo each
    processed = 0
    for code, photos in states.items():
        for photo_id, status in photos:
            if status == "ready" and photo_served(args.url, by_code[code].address, code, photo_id):
                processed += 1
    dupes = duplicated(run_id)
    gave_up = sum(s.outcome == "gave up" for s in tally.sent)
    refused = [s.outcome for s in tally.sent if s.outcome.startswith("refused")]
    killed = ""
    if killed_photo:
        status = [st for photos in states.values() for pid, st in photos if pid == killed_photo[0]]
        killed = f"; the photo whose job was killed: {status[0] if status else 'not among the acknowledged'}"
    log(
        f"load {load_s:.1f} s, drain {drain_s:.1f} s; {tally.retried_posts} forms sent again, "
        f"{gave_up} given up, {len(refused)} refused, {dupes} petitions stored twice{killed}"
    )
    lost = len(acked) - len(ok)
    print(
        f"drill: {len(acked)} acknowledged, {len(ok)} stored, lost {lost}, "
        f"photos processed {processed}/{photos_expected}, client errors {tally.client_errors}",
        flush=True,
    )
    failed = lost or processed < photos_expected or dupes or gave_up or refused
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
