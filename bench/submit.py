"""Submissions per second through the real path, beside a bare one-INSERT endpoint.

Both run under gunicorn with the same workers and are loaded by wrk with the
same connections. The real path is the form POST a phone makes: CSRF,
WTForms validation, the rate limiter (Redis), geotag inside the INSERT,
commit, outbox hand-over. A third endpoint runs the real path's statement
alone (bench/statement_app.py): what the database work by itself allows.
On each geography: the synthetic national one (with its million stored
petitions) and, when ../shared/geodata is present, the real one.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from http.cookiejar import CookieJar
from pathlib import Path

from sqlalchemy import create_engine, make_url, text

from bench import data, realgeo

WORKERS = 4
CONNECTIONS = 16
SECONDS = 20
ROOT = Path(__file__).resolve().parent.parent
TITLE = "Duong lang ngap nuoc"  # the benchmark's petitions, deleted after the run


@contextmanager
def gunicorn(app: str, port: int, env: dict, workers: int = WORKERS, nice: int = 0):
    """gunicorn serving app on port (at a lower CPU priority with nice, as the cluster's voice pool)."""
    process = subprocess.Popen(
        ["nice", "-n", str(nice)] * bool(nice)
        + [str(ROOT / ".venv/bin/gunicorn"), "--workers", str(workers), "--bind", f"127.0.0.1:{port}", app],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1)
                break
            except urllib.error.HTTPError:
                break  # it answers
            except OSError:
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait()


def wrk(url: str, script: str, connections: int = CONNECTIONS, seconds: int = SECONDS, strict: bool = True) -> dict:
    """Load url with wrk running script; with strict, any answer not 2xx/3xx stops the benchmark."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", f.name, url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    os.unlink(f.name)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if bad and strict:
        print(out, file=sys.stderr)
        raise SystemExit(f"{bad.group(1)} requests failed during the benchmark of {url}")
    return {
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),
        "failed": int(bad.group(1)) if bad else 0,
        "out": out,
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": _ms(re.search(r"50%\s+([\d.]+\w+)", out).group(1)),
        "p99": _ms(re.search(r"99%\s+([\d.]+\w+)", out).group(1)),
    }


def _ms(value: str) -> float:
    number, unit = re.match(r"([\d.]+)(\w+)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[unit]


# Each wrk thread has its own Lua state: the thread number goes into the seed
# and into every idempotency key, or two threads would send the same keys and
# half the "submissions" would be duplicates answered from the first.
LUA = """
local points = {%(points)s}
local counter = 0
local threads = 0
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end
function init(args)
  math.randomseed(os.time() * 100 + tid)
end
request = function()
  counter = counter + 1
  local p = points[math.random(#points)]
  local key = string.format("%%02x%%08x%%08x%%08x", tid, math.random(0, 0x7fffffff), math.random(0, 0x7fffffff),
                            counter)
  local body = "csrf_token=%(token)s&idempotency_key=" .. key ..
    "&title=Duong+lang+ngap+nuoc&body=Doan+duong+qua+thon+ngap+sau+moi+khi+mua+lon&category=roads" ..
    "&anonymous=y&consent=y&action=submit&location_source=gps&accuracy_m=15&lat=" .. p[2] .. "&lon=" .. p[1]
  return wrk.format("POST", "%(path)s", {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Accept"] = "application/json",
    ["Cookie"] = "%(cookie)s",
  }, body)
end
"""


def run(table) -> None:
    geographies = realgeo.geographies("Submit")
    for geography, url in geographies:
        over(table, geography, url)


def over(table, geography: str, url: str) -> None:
    """Petitions per second: the real path, the bare INSERT and the portal's statement alone, on one geography."""
    print(f"Submit: the real path vs a bare INSERT over the {geography} geography, under gunicorn and wrk…", flush=True)
    data.delete_petitions(url, "title = %s", (TITLE,))  # what an interrupted run left
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE IF NOT EXISTS bench_bare (id bigserial PRIMARY KEY, title text, body text, "
                "created_at timestamptz DEFAULT now())"
            )
        )
        points = conn.execute(
            text(
                "SELECT ST_X(label_point), ST_Y(label_point) FROM areas WHERE level = 'village' "
                "ORDER BY random() LIMIT 500"
            )
        ).all()
    env = {
        "DATABASE_URL": url.replace("postgresql+psycopg://", "postgresql://"),
        "SUBMIT_LIMIT": "100000000 per minute",
        "SECRET_KEY": "bench",
    }
    with gunicorn("wsgi:app", 5081, env) as base:
        jar = CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        html = opener.open(f"{base}/petitions/new").read().decode()
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
        cookie = "; ".join(f"{c.name}={c.value}" for c in jar)
        lua = LUA % {
            "points": ",".join(f"{{{x:.6f},{y:.6f}}}" for x, y in points),
            "token": token,
            "cookie": cookie,
            "path": "/petitions",
        }
        real = wrk(base, lua)
    with engine.connect() as conn:
        created = conn.execute(text("SELECT count(*) FROM petitions WHERE title = :t"), {"t": TITLE}).scalar()
    # Every request carried a new idempotency key: each must have made a petition.
    if created < real["requests"] * 0.99:
        raise SystemExit(f"only {created} petitions were made by {real['requests']} submissions")
    bare_url = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with gunicorn("bench.bare_app:app", 5082, {"BARE_DATABASE_URL": bare_url}) as base:
        bare = wrk(base, lua.replace('"/petitions"', '"/bare"'))
    with gunicorn("bench.statement_app:app", 5083, {"BARE_DATABASE_URL": bare_url}) as base:
        statement = wrk(base, lua.replace('"/petitions"', '"/statement"'))
    ratio = real["rps"] / bare["rps"]
    table.add(
        f"submit: petitions/s through the real path ({geography} geography)",
        real["rps"],
        "req/s",
        baseline=bare["rps"],
        goal="≥ 0.5 of bare INSERT",
        met=ratio >= 0.5,
    )
    table.add(
        f"submit: the portal's statement alone (geotag, insert, audit row; no validation; {geography})",
        statement["rps"],
        "req/s",
        baseline=bare["rps"],
    )
    table.add(f"submit: p50 latency ({geography})", real["p50"], "ms", baseline=bare["p50"])
    table.add(f"submit: p99 latency ({geography})", real["p99"], "ms", baseline=bare["p99"])
    # Keep the stored petitions realistic for the other benchmarks; the audit rows go with them.
    data.delete_petitions(url, "title = %s", (TITLE,))
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE bench_bare"))
    engine.dispose()
