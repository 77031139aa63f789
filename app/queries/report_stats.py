"""How many petitions, how fast answered: the figures of a report.

Raw SQL: FILTER clauses and percentile_cont count everything in one pass.
"""

from __future__ import annotations

from sqlalchemy import text

from app.extensions import db
from app.models.petition import OPEN_STATUSES
from app.queries.selection import Selection


def counts_by(selection: Selection, column: str, limit: int | None = None) -> list[tuple]:
    """Petitions grouped by an area level or by category: (key, name, total, open, resolved, overdue, parent).

    parent names the area's parent ("Xã Tây Sơn" for a village: village names repeat from commune
    to commune); None for a category. Largest first; limit keeps only the first rows. The names are
    joined after counting, once per group rather than once per petition.
    """
    where, params = selection.where()
    if column == "category_code":
        key, name, parent = "cat.code", "cat.name_vi", "NULL::text"
        join = "JOIN categories cat ON cat.code = n.key"
    else:
        key, name, parent = "a.code", "a.unit_type || ' ' || a.name", "up.unit_type || ' ' || up.name"
        join = "JOIN areas a ON a.id = n.key LEFT JOIN areas up ON up.id = a.parent_id"
    return db.session.execute(
        text(
            f"""WITH n AS (
                  SELECT p.{column} AS key, count(*) AS total,
                         count(*) FILTER (WHERE p.status = ANY(:open)) AS open,
                         count(*) FILTER (WHERE p.status = 'resolved') AS resolved,
                         count(*) FILTER (WHERE p.status = ANY(:open) AND p.due_at < now()) AS overdue
                  FROM petitions p WHERE {where} AND p.{column} IS NOT NULL GROUP BY 1)
                SELECT {key}, {name}, n.total, n.open, n.resolved, n.overdue, {parent}
                FROM n {join} ORDER BY n.total DESC, 1 LIMIT :limit"""
        ),
        {**params, "open": list(OPEN_STATUSES), "limit": limit},
    ).all()


def counts_by_channel(selection: Selection) -> list[tuple[str, int]]:
    """Petitions by the channel they came in through: (channel, count), largest first."""
    where, params = selection.where()
    return db.session.execute(
        text(f"SELECT p.channel, count(*) FROM petitions p WHERE {where} GROUP BY 1 ORDER BY 2 DESC, 1"), params
    ).all()


def weekly_trend(selection: Selection) -> list[tuple]:
    """Petitions received per week (Vietnam time): (monday, count), weeks with none left out."""
    where, params = selection.where()
    return db.session.execute(
        text(
            f"""SELECT date_trunc('week', p.created_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date, count(*)
                FROM petitions p WHERE {where} GROUP BY 1 ORDER BY 1"""
        ),
        params,
    ).all()


def summary(selection: Selection) -> dict:
    """Received, accepted, resolved, rejected, open overdue, median days to resolve, satisfaction and ratings."""
    where, params = selection.where()
    row = db.session.execute(
        text(
            f"""SELECT count(*) AS received,
                       count(*) FILTER (WHERE p.status NOT IN ('received', 'rejected', 'forwarded')) AS accepted,
                       count(*) FILTER (WHERE p.status = 'resolved') AS resolved,
                       count(*) FILTER (WHERE p.status = 'rejected') AS rejected,
                       count(*) FILTER (WHERE p.status = ANY(:open) AND p.due_at < now()) AS overdue,
                       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM p.status_changed_at
                         - p.created_at) / 86400) FILTER (WHERE p.status = 'resolved') AS median_days,
                       avg(CASE WHEN p.satisfied THEN 1.0 WHEN NOT p.satisfied THEN 0.0 END) AS satisfaction,
                       count(p.satisfied) AS rated
                FROM petitions p WHERE {where}"""
        ),
        {**params, "open": list(OPEN_STATUSES)},
    ).one()
    return dict(row._mapping)


def on_time_share(selection: Selection) -> float | None:
    """Of the answers given, the share given before the deadline (from the audit trail)."""
    where, params = selection.where()
    return db.session.execute(
        text(
            f"""SELECT avg(CASE WHEN (e.data ->> 'on_time')::boolean THEN 1.0 ELSE 0.0 END)
                FROM audit_events e JOIN petitions p ON p.id = e.petition_id
                WHERE e.action = 'resolve' AND {where}"""
        ),
        params,
    ).scalar()


def count(selection: Selection) -> int:
    """Count the selected petitions."""
    where, params = selection.where()
    return db.session.execute(text(f"SELECT count(*) FROM petitions p WHERE {where}"), params).scalar_one()
