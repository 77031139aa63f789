"""Where does a point (or a picked area) lie: the geotag statements of locate and submit.

Geotagging itself runs inside PostgreSQL as the functions ``geotag(lon, lat,
near_m)`` and ``place(lon, lat, chosen_id, near_m)`` (migrations/sql), so
that a petition is geotagged in the same statement that inserts it: a lookup
costs ~0.05 ms in the database and several times that as a separate round
trip. Both functions are declared ROWS 1 (migration 0013), so the planner
joins their one row to areas by its key instead of scanning every area.

A lookup alone (``place``: /api/v1/locate, the form's "pick") is one
read-only statement, so it runs outside any transaction, on a connection the
thread keeps (its own, outside the pool): no BEGIN and no ROLLBACK around it,
one round trip instead of three, no pool checkout, no ORM session built for
the request and no execution context (see ``reading`` and ``_one_row``).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache

from flask import current_app
from sqlalchemy import Connection, Engine, create_engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from app.extensions import db

_REF_COLUMNS = "{a}.code AS {a}_code, {a}.name AS {a}_name, {a}.unit_type AS {a}_unit_type"

_CURRENT_AREA_ID = (
    "(SELECT a.id FROM areas a JOIN generations ge ON ge.id = a.generation_id AND ge.is_current "
    "WHERE a.code = %(chosen)s)"
)

# With the driver's %(name)s parameters: sent as it is, nothing compiled per request.
PLACE_SQL = f"""
    SELECT g.method, g.distance_m, g.disagrees,
           {_REF_COLUMNS.format(a="v")}, {_REF_COLUMNS.format(a="c")}, {_REF_COLUMNS.format(a="p")}
    FROM place(%(lon)s, %(lat)s, {_CURRENT_AREA_ID}, %(near_m)s) AS g
    LEFT JOIN areas v ON v.id = g.village_id
    LEFT JOIN areas c ON c.id = g.commune_id
    LEFT JOIN areas p ON p.id = g.province_id
    """


@dataclass(frozen=True)
class AreaRef:
    code: str
    name: str
    unit_type: str

    def as_dict(self) -> dict:
        return {"code": self.code, "name": self.name, "unit_type": self.unit_type}


@dataclass(frozen=True)
class Placed:
    village: AreaRef | None
    commune: AreaRef | None
    province: AreaRef | None
    method: str  # inside | nearest | chosen | unlocated
    distance_m: float | None
    disagrees: bool  # the point lies outside the area the citizen picked


def _ref(row, prefix: str) -> AreaRef | None:
    code = getattr(row, f"{prefix}_code")
    if code is None:
        return None
    return AreaRef(code, getattr(row, f"{prefix}_name"), getattr(row, f"{prefix}_unit_type"))


@contextmanager
def reading() -> Iterator[Connection]:
    """A connection for one read-only statement: autocommit, this thread's own, unless a transaction is open.

    When this request's session already holds a transaction (or the app's
    sessions are bound to a caller's connection), the statement joins it, so
    it sees what that transaction wrote and not yet committed.
    """
    bind = db.engine
    if isinstance(bind, Engine) and not (db.session.registry.has() and db.session().in_transaction()):
        yield _held(bind)
    else:
        yield db.session.connection()


_threads = threading.local()


def _held(engine: Engine) -> Connection:
    """This thread's autocommit connection to the engine's database, kept between lookups.

    A lookup is one statement with nothing around it, so the connection needs
    no checkout and check-in per request (a tenth of a point's time in the
    worker). It is the thread's own server connection, outside the engine's
    pool (whose connections stay the sessions'): one more connection a worker
    thread. It is renewed, as the pool renews its own, once pool_recycle
    seconds old, after the server dropped it, and when the thread looks up
    through another engine (another app in the same process: one kept a thread).
    """
    kept_engine, conn, since = getattr(_threads, "held", (None, None, 0.0))
    recycle = current_app.config["SQLALCHEMY_ENGINE_OPTIONS"].get("pool_recycle", -1)
    if conn is not None and (kept_engine is not engine or conn.invalidated or time.monotonic() - since > recycle >= 0):
        conn.close()
        conn = None
    if conn is None:
        conn = _lookup_engine(engine).connect()
        _threads.held = (engine, conn, time.monotonic())
    return conn


def _kept(conn: Connection) -> bool:
    return getattr(_threads, "held", (None, None))[1] is conn


def _close_kept() -> None:
    """Close the forking thread's kept connection: a child must not share its socket with its parent."""
    _, conn, _ = getattr(_threads, "held", (None, None, 0.0))
    if conn is not None:
        conn.close()
        del _threads.held


os.register_at_fork(before=_close_kept)


@cache
def _lookup_engine(engine: Engine) -> Engine:
    """The kept connections' engine: the same database, autocommit, no pool (each is a thread's own)."""
    return create_engine(
        engine.url, poolclass=NullPool, isolation_level="AUTOCOMMIT", hide_parameters=engine.hide_parameters
    )


def place(lon: float | None, lat: float | None, chosen: str | None, near_m: float) -> Placed:
    """Place a point and/or a picked area code in the current generation (see place() in SQL)."""
    params = {"lon": lon, "lat": lat, "chosen": chosen, "near_m": near_m}
    with reading() as conn:
        try:
            row = _one_row(conn, PLACE_SQL, params)
        except DBAPIError as exc:
            if not (exc.connection_invalidated and _kept(conn)):
                raise
            row = None  # a kept connection the server had dropped: a lookup is safe to send again, on a new one
    if row is None:
        with reading() as conn:
            row = _one_row(conn, PLACE_SQL, params)
    method, distance_m, disagrees, *areas = row
    village, commune, province = (AreaRef(*areas[i : i + 3]) if areas[i] else None for i in (0, 3, 6))
    return Placed(village, commune, province, method, distance_m, disagrees)


def _one_row(conn: Connection, sql: str, params: dict) -> tuple:
    """The one row of a statement, run on the driver's own connection: a lookup needs no execution context.

    What the driver raises reaches the caller as SQLAlchemy's own errors (a
    lost server as OperationalError, its connection dropped from the pool),
    as through Connection.execute.
    """
    driver = conn.connection.driver_connection
    try:
        return driver.execute(sql, params).fetchone()
    except driver.Error as exc:
        gone = conn.dialect.is_disconnect(exc, driver, None)
        if gone:
            conn.invalidate(exc)
        hidden = conn.engine.hide_parameters  # a citizen's place never in an error message
        raise DBAPIError.instance(
            sql, params, exc, type(driver).Error, hide_parameters=hidden, connection_invalidated=gone
        ) from exc


@dataclass(frozen=True)
class InsertedPetition:
    id: int
    tracking_code: str
    public_id: str
    placed: Placed


def insert_placed_petition(values: dict, near_m: float) -> InsertedPetition | None:
    """Insert a petition geotagged in the same statement, and return where it was placed.

    values holds the petition's columns, plus lon and lat (None when it has
    no point) and actor_label (who filed it, for the audit row written in the
    same statement). Returns None when a unique key (idempotency key or
    tracking code) is taken: one round trip whatever happens.
    """
    columns = tuple(name for name in values if name not in ("lon", "lat", "actor_label"))
    # The busiest statement of the portal goes to the driver as it is: no
    # SQL compiled or cache key computed per citizen's submission.
    row = (
        db.session.connection().exec_driver_sql(insert_placed_sql(columns), {**values, "near_m": near_m}).one_or_none()
    )
    if row is None:
        return None
    placed = Placed(_ref(row, "v"), _ref(row, "c"), _ref(row, "p"), row.method, row.distance_m, row.disagrees)
    return InsertedPetition(row.id, row.tracking_code, row.public_id, placed)


@cache
def insert_placed_sql(columns: tuple[str, ...]) -> str:
    """The statement of insert_placed_petition for these columns, with the driver's %(name)s parameters."""
    return f"""WITH g AS (SELECT * FROM place(%(lon)s, %(lat)s, CAST(%(chosen_area_id)s AS integer), %(near_m)s)),
                ins AS (
                  INSERT INTO petitions ({", ".join(columns)}, location, village_id, commune_id, province_id,
                                         assigned_area_id, geotag_method, geotag_distance_m, geotag_disagrees)
                  SELECT {", ".join(f"%({name})s" for name in columns)},
                         CASE WHEN %(lon)s IS NOT NULL THEN ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326) END,
                         g.village_id, g.commune_id, g.province_id, coalesce(g.commune_id, g.province_id),
                         g.method, g.distance_m, g.disagrees
                  FROM g
                  ON CONFLICT DO NOTHING
                  RETURNING id, tracking_code, public_id, village_id, commune_id, province_id, status, filed_by_id,
                            geotag_method, geotag_distance_m, geotag_disagrees),
                audit AS (
                  INSERT INTO audit_events (actor_id, actor_label, petition_id, action, to_status, data)
                  SELECT filed_by_id, %(actor_label)s, id, 'received', status,
                         jsonb_build_object('channel', CAST(%(channel)s AS text), 'geotag', geotag_method)
                  FROM ins)
                SELECT ins.id, ins.tracking_code, ins.public_id, ins.geotag_method AS method,
                       ins.geotag_distance_m AS distance_m, ins.geotag_disagrees AS disagrees,
                       {_REF_COLUMNS.format(a="v")}, {_REF_COLUMNS.format(a="c")}, {_REF_COLUMNS.format(a="p")}
                FROM ins
                LEFT JOIN areas v ON v.id = ins.village_id
                LEFT JOIN areas c ON c.id = ins.commune_id
                LEFT JOIN areas p ON p.id = ins.province_id"""
