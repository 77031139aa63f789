"""The officer inbox at national scale: the busiest commune's officer among 1,000,000 petitions.

In process, on the benchmark database: the services a page calls (the first
page of the inbox and its status counts, a filtered search, a petition with
its history), each beside the raw SQL of the same read, then the whole HTTP
pages through the Flask test client, logged in with the login form. Medians
(and 90th percentiles) over RUNS runs after WARMUP (fewer for a page slower
than BUDGET_S allows), each run with a fresh session as a request has.

Printed once, for a reader: EXPLAIN (ANALYZE, BUFFERS) of the statements the
services send, what each HTTP page sends to the database (and the plan of
any statement slower than the goal), and the fixes this benchmark points to,
tried inside a transaction that is rolled back.
"""

from __future__ import annotations

import re
import statistics
import time
from collections.abc import Callable
from contextlib import contextmanager

from sqlalchemy import event, select, text

from app import create_app
from app.extensions import db
from app.models import AuditEvent, Petition, User
from app.queries.areas import area_by_code
from app.services import accounts, inbox, scope
from app.services.inbox import InboxFilter
from bench import data

RUNS = 50
WARMUP = 5
MIN_RUNS = 10
BUDGET_S = 15
GOAL_MS = 50
USERNAME = "bench.inbox"
PASSWORD = "bench-inbox-password"
SEARCH = InboxFilter(status="received", q="nuoc", overdue=False)

BUSIEST = text(
    """SELECT a.id, a.code, a.unit_type || ' ' || a.name, count(*) FROM petitions p
       JOIN areas a ON a.id = p.assigned_area_id AND a.level = 'commune'
       GROUP BY a.id ORDER BY count(*) DESC, a.code LIMIT 1"""
)
RAW_PAGE = text("SELECT * FROM petitions WHERE assigned_area_id = :area ORDER BY created_at DESC, id DESC LIMIT 51")
RAW_COUNTS = text("SELECT status, count(*) FROM petitions WHERE assigned_area_id = :area GROUP BY status")
RAW_SEARCH = text(
    "SELECT * FROM petitions WHERE assigned_area_id = :area AND status = 'received' "
    "AND fold(title || ' ' || body) LIKE '%nuoc%' ORDER BY created_at DESC, id DESC LIMIT 51"
)
RAW_MINE = text(
    "SELECT * FROM petitions WHERE assigned_area_id = :area AND assignee_id = :user "
    "ORDER BY created_at DESC, id DESC LIMIT 51"
)
MINE = InboxFilter(mine=True)
RAW_PETITION = text("SELECT * FROM petitions WHERE id = :id AND assigned_area_id = :area")
RAW_HISTORY = text("SELECT * FROM audit_events WHERE petition_id = :id ORDER BY id")


def run(table) -> None:
    print("Inbox: the busiest commune's officer among 1,000,000 petitions…", flush=True)
    url = data.national()  # with the 1,000,000 petitions
    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": url, "LOGIN_LIMIT": "1000 per minute", "LOGIN_ACCOUNT_LIMIT": "1000 per minute"}
    )

    with app.app_context():
        area_id, area_code, area_name, total = db.session.execute(BUSIEST).one()
        user_id = _officer(area_code)
        petition_id = _petition_to_open(area_id)
        assigned = _assign_share(area_id, user_id)
        print(
            f"  {area_name} ({area_code}): {total:,} petitions in its inbox; officer {USERNAME}; "
            f"petition page: #{petition_id}",
            flush=True,
        )
        _explain(user_id, area_id)

        def as_officer(call: Callable[[User], object]) -> Callable[[], object]:
            return lambda: call(db.session.get(User, user_id))

        first_page = _timed(as_officer(lambda u: (inbox.page(u, InboxFilter()), inbox.counts(u, InboxFilter()))))
        raw_first = _timed(lambda: (_raw(RAW_PAGE, area=area_id), _raw(RAW_COUNTS, area=area_id)))
        raw_page_only = _timed(lambda: _raw(RAW_PAGE, area=area_id))
        search = _timed(as_officer(lambda u: inbox.page(u, SEARCH)))
        mine = _timed(as_officer(lambda u: (inbox.page(u, MINE), inbox.counts(u, MINE))))
        raw_mine = _timed(lambda: _raw(RAW_MINE, area=area_id, user=user_id))
        raw_search = _timed(lambda: _raw(RAW_SEARCH, area=area_id))
        petition = _timed(as_officer(lambda u: _petition_data(u, petition_id)))
        raw_petition = _timed(
            lambda: (_raw(RAW_PETITION, id=petition_id, area=area_id), _raw(RAW_HISTORY, id=petition_id))
        )

    client = app.test_client()
    _log_in(client)
    inbox_http = _timed(lambda: _get(client, "/officer/"), fresh_session=False)
    petition_http = _timed(lambda: _get(client, f"/officer/petitions/{petition_id}"), fresh_session=False)
    for path in ("/officer/", f"/officer/petitions/{petition_id}"):
        _statements_of(app, path, lambda p=path: _get(client, p))

    def add(figure: str, value: float, baseline: float) -> None:
        table.add(figure, value, "ms", baseline=baseline, goal=f"< {GOAL_MS} ms", met=value < GOAL_MS)

    add("inbox: first page + status counts (median)", first_page[0], raw_first[0])
    add("inbox: first page + status counts (p90)", first_page[1], raw_first[1])
    table.add("inbox: raw SQL of the first page alone (median)", raw_page_only[0], "ms")
    add("inbox: search received + 'nuoc', first page (median)", search[0], raw_search[0])
    add("inbox: search received + 'nuoc', first page (p90)", search[1], raw_search[1])
    add(
        f"inbox: my petitions ({assigned:,} assigned to the officer), first page + counts (median)",
        mine[0],
        raw_mine[0],
    )
    add("inbox: my petitions, first page + counts (p90)", mine[1], raw_mine[1])
    add("petition page data: petition + history (median)", petition[0], raw_petition[0])
    add("HTTP GET /officer/ (median)", inbox_http[0], first_page[0])
    add("HTTP GET /officer/ (p90)", inbox_http[1], first_page[1])
    add("HTTP GET /officer/petitions/<id> (median)", petition_http[0], petition[0])
    add("HTTP GET /officer/petitions/<id> (p90)", petition_http[1], petition[1])


def _officer(area_code: str) -> int:
    """The benchmark's commune officer, made once and moved to the busiest commune when it changes."""
    user = db.session.scalar(select(User).where(User.username == USERNAME))
    if user is None:
        user, _ = accounts.create_officer(USERNAME, "commune", area_code, PASSWORD, full_name="Cán bộ đo hiệu năng")
    else:
        user.area_id = area_by_code(area_code).id
        user.active = True
        if not accounts.verify_password(user, PASSWORD):
            accounts.set_password(user, PASSWORD)
    db.session.commit()
    return user.id


def _assign_share(area_id: int, user_id: int) -> int:
    """Assign one petition in ten of the busiest inbox to the benchmark's officer (once); how many are his."""
    db.session.execute(
        text(
            "UPDATE petitions SET assignee_id = :u WHERE assigned_area_id = :a AND id % 10 = 0 "
            "AND assignee_id IS DISTINCT FROM :u"
        ),
        {"a": area_id, "u": user_id},
    )
    db.session.commit()
    return db.session.scalar(text("SELECT count(*) FROM petitions WHERE assignee_id = :u"), {"u": user_id})


def _petition_to_open(area_id: int) -> int:
    """The newest petition in progress with a point: one an officer works on, with a history."""
    return db.session.scalar(
        select(Petition.id)
        .where(Petition.assigned_area_id == area_id, Petition.status == "in_progress", Petition.location.is_not(None))
        .order_by(Petition.created_at.desc(), Petition.id.desc())
        .limit(1)
    )


def _petition_data(user: User, petition_id: int):
    """What the petition page reads first: the petition in the officer's scope, and its history."""
    petition = scope.petition_for(user, petition_id)
    history = db.session.scalars(
        select(AuditEvent).where(AuditEvent.petition_id == petition.id).order_by(AuditEvent.id)
    ).all()
    return petition, history


def _raw(statement, **params):
    return db.session.execute(statement, params).all()


def _timed(call: Callable[[], object], *, fresh_session: bool = True) -> tuple[float, float]:
    """Median and 90th percentile in ms; each run starts, like a request, with an empty session.

    Like a request's, its statements are planned afresh every time: the session's end rolls back,
    and psycopg drops its prepared statements on a rollback (so no generic plan ever kicks in).

    RUNS runs after WARMUP, or fewer (never under MIN_RUNS) when they would take over BUDGET_S.
    """
    samples: list[float] = []
    started_all = time.perf_counter()
    for i in range(WARMUP + RUNS):
        if fresh_session:
            db.session.remove()
        started = time.perf_counter()
        call()
        elapsed = (time.perf_counter() - started) * 1000
        if i >= WARMUP:
            samples.append(elapsed)
        if len(samples) >= MIN_RUNS and time.perf_counter() - started_all > BUDGET_S:
            print(f"  (slow: {len(samples)} runs in the time budget, not {RUNS})", flush=True)
            break
    if fresh_session:
        db.session.remove()
    return statistics.median(samples), statistics.quantiles(samples, n=10)[-1]


def _log_in(client) -> None:
    html = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    response = client.post("/login", data={"csrf_token": token, "username": USERNAME, "password": PASSWORD})
    if response.status_code != 302:
        raise SystemExit(f"the benchmark officer could not log in: HTTP {response.status_code}")


def _get(client, path: str) -> None:
    response = client.get(path)
    if response.status_code != 200:
        raise SystemExit(f"GET {path}: HTTP {response.status_code}")


@contextmanager
def _recording(engine):
    """Record (statement, parameters, ms) of every statement sent while inside."""
    seen: list[list] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        seen.append([statement, parameters, time.perf_counter()])

    def after(conn, cursor, statement, parameters, context, executemany):
        seen[-1][2] = (time.perf_counter() - seen[-1][2]) * 1000

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)


def _explain(user_id: int, area_id: int) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) the statements the inbox services send, with their parameters."""
    user = db.session.get(User, user_id)
    for label, call in (
        ("inbox first page", lambda: inbox.page(user, InboxFilter())),
        ("inbox status counts", lambda: inbox.counts(user, InboxFilter())),
        ("inbox search (received, 'nuoc')", lambda: inbox.page(user, SEARCH)),
    ):
        with _recording(db.engine) as seen:
            call()
        statement, parameters, _ = seen[-1]
        plan = db.session.connection().exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters).all()
        print(f"\n  EXPLAIN (ANALYZE, BUFFERS) — {label}:\n  {_one_line(statement)}\n  {parameters}")
        print("\n".join("    " + line for (line,) in plan), flush=True)
    db.session.rollback()


def _statements_of(app, path: str, call: Callable[[], None]) -> None:
    """Print what one page sends to the database: statements by shape, the costliest first, and
    EXPLAIN (ANALYZE, BUFFERS) of any single statement slower than the goal."""
    with app.app_context():
        engine = db.engine
    with _recording(engine) as seen:
        started = time.perf_counter()
        call()
        total = (time.perf_counter() - started) * 1000
    shapes: dict[str, list[float]] = {}
    for statement, _, ms in seen:
        shapes.setdefault(_one_line(statement), []).append(ms)
    in_sql = sum(ms for _, _, ms in seen)
    print(f"\n  GET {path}: {total:.1f} ms, {len(seen)} statements taking {in_sql:.1f} ms in all; by shape:")
    for statement, times in sorted(shapes.items(), key=lambda item: -sum(item[1]))[:5]:
        print(f"    {len(times):3d} × {sum(times):7.2f} ms  {statement[:150]}")
    statement, parameters, ms = max(seen, key=lambda s: s[2])
    if ms > GOAL_MS:
        with app.app_context():
            plan = db.session.connection().exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
            print(f"\n  EXPLAIN (ANALYZE, BUFFERS) of its slowest statement ({ms:.0f} ms):\n  {_one_line(statement)}")
            print(f"  {parameters}")
            print("\n".join("    " + line for (line,) in plan.all()))
            db.session.rollback()
    print(flush=True)


def _one_line(statement: str) -> str:
    return " ".join(statement.split())
