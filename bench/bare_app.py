"""The baselines of the submit and locate benchmarks: bare Flask endpoints, one statement each.

/bare is the physical limit of "accept a row over HTTP" on this machine: the
same gunicorn, the same database, no validation, no geotag, no queue.
/bare/locate is the limit of "geotag a point over HTTP": the same SQL
geotag() the portal calls, its ids as JSON, nothing else.
"""

from __future__ import annotations

import os

import psycopg
from flask import Flask, jsonify, request

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


@app.get("/bare/locate")
def bare_locate():
    with connection().cursor() as cur:
        cur.execute("SELECT * FROM geotag(%s, %s)", (float(request.args["lon"]), float(request.args["lat"])))
        village, commune, province, method, distance = cur.fetchone()
    connection().commit()
    return jsonify(
        {"village": village, "commune": commune, "province": province, "method": method, "distance_m": distance}
    )
