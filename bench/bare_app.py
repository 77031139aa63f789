"""The baseline of the submit benchmark: a bare Flask endpoint doing one INSERT.

It is the physical limit of "accept a row over HTTP" on this machine: the
same gunicorn, the same database, no validation, no geotag, no queue.
"""

from __future__ import annotations

import os

import psycopg
from flask import Flask, request

app = Flask(__name__)
_conn = None


def connection():
    global _conn
    if _conn is None:
        _conn = psycopg.connect(os.environ["BARE_DATABASE_URL"])
    return _conn


@app.post("/bare")
def bare():
    conn = connection()
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO bench_bare (title, body) VALUES (%s, %s) RETURNING id",
            (request.form.get("title", ""), request.form.get("body", "")),
        )
        row_id = cur.fetchone()[0]
    conn.commit()
    return {"id": row_id}, 201
