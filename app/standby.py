"""Read routing: maps, reports, exports and scorecards may read a streaming standby.

With DATABASE_READ_URL set (a hot standby of the primary), a view marked
`@reads_standby` (or a job inside `with standby_reads():`) sends its reads
there, so that heavy counting does not compete with intake on the primary.
Everything else stays on the primary, and so does every write made inside
such a view: a flush of the ORM, an INSERT/UPDATE/DELETE, or any statement
that is not a plain SELECT (or WITH … SELECT). The choice is made in one
place, the session's `get_bind` below.

A standby is behind the primary by the time its replay takes. Before a view
reads it, the standby says how fresh its data are (`as_of`: everything the
primary had committed by then is there); the page shows "data as of …", and
a standby further behind than DATABASE_READ_MAX_LAG_S, or one that cannot
be reached (then not tried again for DATABASE_READ_RETRY_S), is not used:
the view reads the primary instead. Without DATABASE_READ_URL all goes to
the primary, as on one machine.
"""

from __future__ import annotations

import re
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import wraps

import psycopg
import sqlalchemy as sa
from flask import Flask, current_app, g, has_app_context
from flask_sqlalchemy.session import Session
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

BIND = "standby"  # the bind key of the standby's engine (SQLALCHEMY_BINDS)
# In flask.g while the reads go to the standby: the request's app context's, not the session's. A
# streamed export reads after the view's teardown has removed its session (and a new one is made); g
# lives until the stream ends, and with it the routing (each request has an app context of its own).
_ROUTED = "standby_engine"
_unreachable_until: dict = {}  # engine → when this process tries a standby that did not answer again
_READ = re.compile(r"\s*(SELECT|WITH)\b", re.IGNORECASE)
# A WITH may hold an INSERT, UPDATE or DELETE, and a SELECT may lock rows: those go to the primary.
_WRITES = re.compile(r"\b(INSERT|UPDATE|DELETE|MERGE)\b|\bFOR\s+(NO\s+KEY\s+UPDATE|KEY\s+SHARE|SHARE)\b", re.IGNORECASE)

# What the standby has, as a time. Every message of the primary's WAL sender names the end of the
# primary's WAL when it was sent (latest_end_lsn, at latest_end_time): a standby that has replayed up to
# there has all the primary had then. Else (catching up, or paused) it has up to the last transaction
# it replayed. A primary (a standby promoted since) is current. Without the pg_read_all_stats role the
# receiver's details are hidden, and the replay time is used: never later than the truth.
AS_OF_SQL = sa.text(
    """SELECT CASE
         WHEN NOT pg_is_in_recovery() THEN now()
         WHEN r.status = 'streaming' AND pg_last_wal_replay_lsn() >= r.latest_end_lsn
           THEN greatest(r.latest_end_time, pg_last_xact_replay_timestamp())
         ELSE pg_last_xact_replay_timestamp() END
       FROM (SELECT 1) AS one LEFT JOIN pg_stat_wal_receiver AS r ON true"""
)


class RoutingSession(Session):
    """The portal's session: reads go to the standby while one is chosen, all else to the primary."""

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        standby = g.get(_ROUTED) if has_app_context() else None
        if standby is not None and bind is None and not self._flushing and _only_reads(clause):
            return standby
        return super().get_bind(mapper, clause=clause, bind=bind, **kwargs)


def _only_reads(clause) -> bool:
    if isinstance(clause, sa.Select):
        return clause._for_update_arg is None  # SELECT … FOR UPDATE takes locks: only the primary can
    if isinstance(clause, sa.CompoundSelect):
        return True
    if isinstance(clause, sa.TextClause):
        return bool(_READ.match(clause.text)) and not _WRITES.search(clause.text)
    return False  # DML, DDL, or no statement at all (session.connection()): the primary


def _read_only_is_unavailable(context) -> Exception | None:
    """A write refused because the node is (now) a standby: a failover the connection has not seen yet.

    Treated as the database being away: the connection is dropped from the pool (the next one finds the
    primary through DATABASE_URL), and the request gets the 503 page, as for any OperationalError.
    """
    if isinstance(context.original_exception, psycopg.errors.ReadOnlySqlTransaction):
        context.is_disconnect = True
        return sa.exc.OperationalError(context.statement, context.parameters, context.original_exception)
    return None


def init_app(app: Flask) -> None:
    if not event.contains(Engine, "handle_error", _read_only_is_unavailable):
        event.listen(Engine, "handle_error", _read_only_is_unavailable)

    @app.context_processor
    def page_data_as_of():
        return {"data_as_of": data_as_of()}


def use_standby() -> datetime | None:
    """Send this session's reads to the standby if one is configured, reachable and fresh enough.

    Returns how fresh its data are (None: the reads stay on the primary); a view shows it.
    """
    from app.extensions import db

    engine = db.engines.get(BIND)
    if engine is None or time.monotonic() < _unreachable_until.get(engine, 0.0):
        return None
    try:
        with engine.connect() as connection:
            as_of = connection.execute(AS_OF_SQL).scalar_one()
    except DBAPIError as exc:
        # Not tried again for a while: a machine gone silent would make every report wait for the
        # connection's timeout first.
        _unreachable_until[engine] = time.monotonic() + current_app.config["DATABASE_READ_RETRY_S"]
        current_app.logger.warning("standby unavailable, reading the primary: %s", exc.orig)
        return None
    lag = datetime.now(UTC) - as_of if as_of is not None else None
    bound = timedelta(seconds=current_app.config["DATABASE_READ_MAX_LAG_S"])
    if lag is None or lag > bound:
        current_app.logger.warning("standby behind by %s (bound %s), reading the primary", lag, bound)
        return None
    setattr(g, _ROUTED, engine)
    g.data_as_of = as_of
    return as_of


def data_as_of() -> datetime | None:
    """How fresh the data this request reads are, when it reads a standby (None: the primary)."""
    return g.get("data_as_of") if has_app_context() else None


def data_as_of_no_later_than(moment: datetime) -> None:
    """Part of the page comes from a copy made earlier (the public map's shared counts): say the older time."""
    if data_as_of() is not None and moment < g.data_as_of:
        g.data_as_of = moment


@contextmanager
def standby_reads():
    """Within the block, the reads go to the standby (a job's; a view uses @reads_standby)."""
    use_standby()
    try:
        yield
    finally:
        g.pop(_ROUTED, None)


def reads_standby(view):
    """Let a view's reads go to the standby (the routing ends with the request)."""

    @wraps(view)
    def routed(*args, **kwargs):
        use_standby()
        return view(*args, **kwargs)

    return routed
