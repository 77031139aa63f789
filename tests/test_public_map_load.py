"""The anonymous map under load: counted once, shared for a while, throttled; boundary files only as pages name them.

Statements are counted where what a user notices is the cost of a request:
the public map counts the published petitions once per request (its map and
its table share them), not at all when the same filters were asked lately,
and a boundary file that is not one a page names is refused before any query.
"""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, text

from app import create_app
from app.extensions import db
from app.geodata.importer import import_features
from app.geodata.readers import read_features
from app.services.workflow import act
from tests.conftest import SLICE, bind_to_test_transaction
from tests.factories import mini_geography, officer, petition_in, slice_communes
from tests.test_maps import boundary_urls, map_config


@pytest.fixture
def statements(app_ctx):
    """Every SQL statement sent while the test runs (its requests included)."""
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if not statement.startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")):
            seen.append(statement)  # the test's own transaction aside

    target = db.engine  # in a test, the connection of its transaction
    event.listen(target, "before_cursor_execute", record)
    yield seen
    event.remove(target, "before_cursor_execute", record)


def counting(seen: list[str]) -> list[str]:
    return [s for s in seen if re.search(r"\bFROM petitions\b", s)]


def published(code: str, n: int) -> list:
    """n petitions in a commune, accepted by its officer (so the public counts them)."""
    made = [petition_in(code) for _ in range(n)]
    clerk = officer("commune", code)
    for petition in made:
        act(petition, "accept", clerk)
    return made


def public_counts(client, url: str) -> dict[str, int]:
    """The shown counts of the public map's last layer (a province's communes, or the country's)."""
    page = client.get(url)
    assert page.status_code == 200, page.get_data(as_text=True)[:300]
    layer = map_config(page.get_data(as_text=True), "public-map")["layers"][-1]
    return {code: n for code, (n, _) in layer["counts"].items()}


# ---------------------------------------------------------------- the public map


def test_the_public_map_counts_the_petitions_once_for_its_map_and_its_table(client, statements):
    a, b = slice_communes(2)
    published(a, 6)
    for url in ("/map", "/map?province=46", "/map?category=roads&since=2020-01-01"):
        statements.clear()
        page = client.get(url).get_data(as_text=True)
        assert len(counting(statements)) == 1, (url, counting(statements))
        if "province" in url:  # the table says what the map says
            assert re.search(rf'<tr data-code="{a}">.*?<td>6</td>', page, re.S)
            assert public_counts(client, url)[a] == 6
        else:
            assert re.search(r'<tr data-code="46">.*?<td>6</td>', page, re.S)


def test_the_same_filters_are_counted_again_only_after_the_cache_time(app, client, statements, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_MAP_CACHE_SECONDS", 1)
    a, _b = slice_communes(2)
    published(a, 5)
    assert public_counts(client, "/map?province=46") == {a: 5}
    published(a, 2)
    statements.clear()
    assert public_counts(client, "/map?province=46") == {a: 5}  # the shared copy: nothing counted
    assert counting(statements) == []
    time.sleep(1.2)
    assert public_counts(client, "/map?province=46") == {a: 7}  # counted again after a second
    assert len(counting(statements)) == 1


def test_a_week_and_the_same_dates_are_one_set_of_filters(client, statements):
    a, _b = slice_communes(2)
    published(a, 5)
    this_week = public_counts(client, "/map?province=46&week=0")
    today = (datetime.now(UTC) + timedelta(hours=7)).date()
    monday = today - timedelta(days=today.weekday())
    statements.clear()
    same = public_counts(client, f"/map?province=46&since={monday}&until={monday + timedelta(days=6)}")
    assert same == this_week == {a: 5} and counting(statements) == []
    assert public_counts(client, "/map?province=46&category=land") == {}  # other filters, other counts
    assert len(counting(statements)) == 1


def test_with_the_cache_off_every_request_counts(app, client, statements, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_MAP_CACHE_SECONDS", 0)
    a, _b = slice_communes(2)
    published(a, 5)
    assert public_counts(client, "/map?province=46") == {a: 5}
    published(a, 1)
    assert public_counts(client, "/map?province=46") == {a: 6}


def test_with_redis_away_the_public_map_is_counted_directly(app, client):
    a, _b = slice_communes(2)
    published(a, 5)
    away = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
            "REDIS_URL": "redis://127.0.0.1:1/0",
        }
    )
    with bind_to_test_transaction(away):
        assert public_counts(away.test_client(), "/map?province=46") == {a: 5}
        national = away.test_client().get("/map").get_data(as_text=True)
        assert map_config(national, "public-map")["layers"][0]["counts"]["46"][0] == 5


def test_the_public_map_is_rate_limited_per_client_with_a_page_in_vietnamese(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_MAP_LIMIT", "2 per minute")
    codes = [client.get(f"/map?since=2026-0{m}-01").status_code for m in (1, 2, 3)]
    assert codes == [200, 200, 429]
    refused = client.get("/map").get_data(as_text=True)
    assert "Bạn đã gửi quá nhiều lần trong thời gian ngắn" in refused and 'lang="vi"' in refused
    assert client.get("/map", environ_base={"REMOTE_ADDR": "10.0.0.9"}).status_code == 200  # another client


def test_a_commune_counts_the_same_in_the_country_and_in_its_province_after_a_forward(client, app_ctx):
    import_features(mini_geography(), "2025")  # province 99 beside 46
    a, _b = slice_communes(2)
    made = published(a, 6)
    act(made[0], "forward", officer("central"), area_code="99001")  # now in another province's inbox
    assert made[0].assigned_province_id != made[0].province_id
    national = map_config(client.get("/map").get_data(as_text=True), "public-map")["layers"][1]["counts"]
    assert national[a][0] == 6
    assert public_counts(client, "/map?province=46")[a] == 6  # no difference gives the forward away
    assert public_counts(client, "/map?province=99") == {}
    page = client.get("/map?province=46").get_data(as_text=True)
    assert re.search(rf'<tr data-code="{a}">.*?<td>6</td>', page, re.S)


def test_the_public_counts_index_holds_exactly_the_published_petitions(app_ctx):
    """The partial index's condition is publication's: if the rule changes alone, the index goes unused.

    PostgreSQL writes both conditions in its own normal form: the index's, and that of an index made
    here (in the test's transaction, rolled back) from the rule as the portal states it today.
    """
    from app.models.petition import published_sql

    def condition(index: str) -> str:
        return db.session.execute(
            text("SELECT pg_get_expr(indpred, indrelid) FROM pg_index WHERE indexrelid = CAST(:i AS regclass)"),
            {"i": index},
        ).scalar_one()

    db.session.execute(text(f"CREATE INDEX rule_today ON petitions (id) WHERE {published_sql('petitions')}"))
    assert condition("petitions_public_counts") == condition("rule_today")


# ---------------------------------------------------------------- boundary files


def current_root(client) -> str:
    """/geo/<generation>/<edition> of the current boundaries, as the map page names them."""
    return boundary_urls(client.get("/map").get_data(as_text=True))[0].rsplit("/", 2)[0]


def test_a_re_import_that_changes_areas_gets_new_boundary_urls_and_one_that_does_not_keeps_them(client, app_ctx):
    before = current_root(client)
    import_features(read_features(SLICE), "2025")  # the same slice again: nothing written
    assert current_root(client) == before
    import_features(mini_geography(), "2025")  # province 99 joins the generation
    after = current_root(client)
    assert after != before and client.get(f"{after}/province/all-coarse.json").status_code == 200
    assert client.get(f"{before}/province/all-coarse.json").status_code == 404


@pytest.mark.parametrize(
    "name",
    [
        "commune/all-coarse",  # the country's communes in one file: no page opens it
        "commune/all-fine",
        "province/all-fine",
        "commune/46-coarse",
        "village/all-fine",
        "village/{commune}-coarse",
    ],
)
def test_boundary_files_no_page_opens_are_a_json_404_without_a_query(client, statements, name):
    root, commune = current_root(client), slice_communes(1)[0]
    statements.clear()
    response = client.get(f"{root}/{name.format(commune=commune)}.json")
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"
    assert statements == []


@pytest.mark.parametrize(
    "path",
    [
        "/geo/x/1/province/all-coarse.json",
        "/geo/2025/1/province/all-coarse.json",
        "/geo/2025/abc/province/all-coarse.json",
    ],
)
def test_an_unknown_generation_or_edition_is_refused_after_one_look_at_the_generations(client, statements, path):
    response = client.get(path)
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"
    assert all("generations" in s and "areas" not in s for s in statements), statements
    assert len(statements) <= 1


def test_a_boundary_file_already_made_costs_one_look_at_the_generations(client, statements):
    base = boundary_urls(client.get("/map?province=46").get_data(as_text=True))[1]  # the province's communes
    first = client.get(base)
    assert first.status_code == 200
    for headers in ({}, {"If-None-Match": first.headers["ETag"]}):
        statements.clear()
        again = client.get(base, headers=headers)
        assert again.status_code in (200, 304)
        assert [s for s in statements if "generations" not in s] == []
        assert len(statements) == 1


def test_files_for_unknown_parents_push_no_real_file_out(app, client, statements, monkeypatch):
    monkeypatch.setitem(app.config, "GEO_MISS_LIMIT", "1000 per minute")
    root, commune = current_root(client), slice_communes(1)[0]
    real = f"{root}/village/{commune}-fine.json"
    body = client.get(real).get_data()
    assert json.loads(body)["features"]
    misses = [client.get(f"{root}/village/{46900 + i:05d}-fine.json").status_code for i in range(100)]
    misses += [client.get(f"{root}/commune/{10 + i:02d}-fine.json").status_code for i in range(30)]
    assert set(misses) == {404}
    statements.clear()
    again = client.get(real)
    assert again.status_code == 200 and again.get_data() == body
    assert not any("areas" in s for s in statements)  # still kept: not made again


def test_a_client_asking_for_missing_files_is_stopped_but_not_for_the_files_it_uses(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "GEO_MISS_LIMIT", "3 per minute")
    root, commune = current_root(client), slice_communes(1)[0]
    real = f"{root}/village/{commune}-fine.json"
    answers = []
    for i in range(3):
        answers += [client.get(real).status_code, client.get(f"{root}/village/4699{i}-fine.json").status_code]
    assert answers == [200, 404] * 3  # the files it uses do not count
    refused = client.get(f"{root}/village/46999-fine.json")
    assert refused.status_code == 429 and refused.get_json()["error"]["code"] == "rate_limited"
    assert client.get(real, environ_base={"REMOTE_ADDR": "10.0.0.7"}).status_code == 200  # another client


def test_boundary_files_are_rate_limited_per_client(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "GEO_LIMIT", "2 per minute")
    base = current_root(client) + "/province/all-coarse.json"
    assert [client.get(base).status_code for _ in range(3)] == [200, 200, 429]


def test_concurrent_requests_for_one_file_make_it_once(live_server):
    """Phones opening the same province at once: one request makes the file, the others wait for it."""
    base = live_server.config["LIVE_URL"]
    page = urllib.request.urlopen(f"{base}/map").read().decode()
    root = boundary_urls(page)[0].rsplit("/", 2)[0]
    with live_server.app_context():
        communes = db.session.execute(
            text("SELECT code FROM areas WHERE level = 'commune' ORDER BY code DESC LIMIT 1")
        ).scalars()
        url = f"{base}{root}/village/{next(communes)}-fine.json"
        db.session.remove()
    live_server.extensions.pop("boundary_files", None)  # nothing made yet in this process
    made, barrier, bodies = [], threading.Barrier(8), []

    def record(conn, cursor, statement, parameters, context, executemany):
        if "ST_AsBinary" in statement:
            made.append(statement)

    def fetch():
        barrier.wait()
        bodies.append(urllib.request.urlopen(url).read())

    with live_server.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        threads = [threading.Thread(target=fetch) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert len(bodies) == 8 and len(set(bodies)) == 1 and json.loads(bodies[0])["features"]
    assert len(made) == 1
