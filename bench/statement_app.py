"""A second baseline of the submit benchmark: the portal's own statement, and nothing else.

The statement the real path runs — geotag, insert with every index, the
first audit row — behind a bare Flask endpoint with one psycopg connection:
no form, no CSRF, no rate limit, no ORM. Between this and bench/bare_app.py
lies what the database work costs; between this and the real path, what
the Python around it costs.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Flask, request

from app.queries.geotag import insert_placed_sql
from app.services.petitions import new_tracking_code
from bench.bare_app import connection  # one psycopg connection per worker, as there

app = Flask(__name__)
COLUMNS = (
    "idempotency_key",
    "tracking_code",
    "channel",
    "title",
    "body",
    "category_code",
    "status",
    "location_accuracy_m",
    "location_source",
    "chosen_area_id",
    "is_anonymous",
    "contact_name",
    "contact_phone",
    "consent_at",
    "due_at",
    "filed_by_id",
    "partner_id",
)
SQL = insert_placed_sql(COLUMNS)


@app.post("/statement")
def statement():
    form, now = request.form, datetime.now(UTC)
    values = dict.fromkeys(COLUMNS)
    values.update(
        idempotency_key=form.get("idempotency_key"),
        tracking_code=new_tracking_code(),
        channel="web",
        title=form.get("title", ""),
        body=form.get("body", ""),
        category_code=form.get("category", "roads"),
        status="received",
        location_accuracy_m=15.0,
        location_source="gps",
        is_anonymous=True,
        consent_at=now,
        due_at=now,
        lon=float(form["lon"]),
        lat=float(form["lat"]),
        actor_label="bench",
        near_m=2000.0,
    )
    conn = connection()
    with conn.cursor() as cur:
        cur.execute(SQL, values)
        row = cur.fetchone()
    conn.commit()
    return {"id": row[0]}, 201
