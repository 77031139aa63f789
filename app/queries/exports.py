"""Which rows an export writes, streamed from a server-side cursor.

Raw SQL: one joined statement read in batches, never the ORM's objects.
"""

from __future__ import annotations

from sqlalchemy import text

from app.extensions import db
from app.queries.selection import Selection


def export_rows(selection: Selection, with_contact: bool, batch: int = 2000):
    """The selected petitions for an export, streamed from a server-side cursor, newest first."""
    where, params = selection.where()
    contact = ", p.contact_name, p.contact_phone" if with_contact else ""
    result = db.session.execute(
        text(
            f"""SELECT p.public_id AS reference, p.created_at, p.status, p.category_code,
                       coalesce(p.public_title, p.title) AS title, coalesce(p.public_body, p.body) AS body,
                       v.code AS village_code, v.unit_type || ' ' || v.name AS village,
                       c.code AS commune_code, c.unit_type || ' ' || c.name AS commune,
                       pr.code AS province_code, pr.unit_type || ' ' || pr.name AS province,
                       p.geotag_method, ST_X(p.location) AS lon, ST_Y(p.location) AS lat, p.supporters,
                       p.due_at, p.channel{contact}
                FROM petitions p
                LEFT JOIN areas v ON v.id = p.village_id LEFT JOIN areas c ON c.id = p.commune_id
                LEFT JOIN areas pr ON pr.id = p.province_id
                WHERE {where} ORDER BY p.created_at DESC, p.id DESC"""
        ).execution_options(yield_per=batch),
        params,
    )
    yield from result.mappings()
