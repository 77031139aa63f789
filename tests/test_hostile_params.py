"""Hostile query strings on every GET route of the app's own URL map: never a 5xx, every refusal clear.

The walk takes each rule that answers GET, builds a valid URL for it (a
real commune of the test slice, a real petition), and sends it hostile
values — far dates, digits that are not ASCII, huge numbers, NaN, NUL, very
long and odd unicode strings, SQL- and HTML-ish text, a name given twice —
in every query parameter the portal reads, and in its path where a
converter takes one. Callers: anonymous, central staff, and (for the
officers' routes) a commune officer. A new route is walked the moment it
exists; a new parameter as soon as a route looks it up.

Bounded: per route, each hostile value goes into every name at once; where
that is refused (a 4xx can hide what the other names would have done),
each name the route looks up gets the value alone. The names a route looks
up are recorded from its own request.args, so names it never reads cost
nothing.
"""

from __future__ import annotations

import itertools
import json
import re
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
from flask import Request
from werkzeug.datastructures import ImmutableMultiDict
from wtforms.fields.core import UnboundField

from app.extensions import db
from app.maps.forms import MapFilterForm
from app.officer.forms import FilterForm
from app.petitions.forms import PetitionForm, TrackForm
from tests.factories import log_in, officer, petition_in, slice_communes

APP_SOURCE = Path(__file__).resolve().parent.parent / "app"

HOSTILE = [
    "9999-12-31",
    "0001-01-01",
    "99999-01-01",
    "²",
    "١٢",
    "５",
    str(10**30),
    "-1",
    "1e309",
    "NaN",
    "inf",
    "\x00",
    "x" * 10_000,
    "",
    "\u202e",
    "😀",
    "' OR 1=1 --",
    "<script>alert(1)</script>",
]
AT_ONCE_ONLY = {"\x00", ""}  # NUL is refused before any route (app/errors.py); empty is as good as absent
HUGE_IDS = ["9" * 30, "9223372036854775808", "0", "١٢"]  # what digits in an <int:…> path may be

# Names read where no pattern below sees them: templates, redirects, banners, url_for's own keywords.
KNOWN_NAMES = {"lang", "new", "size", "contact", "next", "api_key", "activated", "supported", "rated", "long"}
URL_FOR_KEYWORDS = {"_method", "_external", "_anchor", "_scheme"}
GET_FORMS = (MapFilterForm, FilterForm, PetitionForm, TrackForm)
ARG_READ = re.compile(r"""args(?:\.get(?:list)?\(|\[|,)\s*["']([a-z_]+)["']""")


def names_the_app_reads(app) -> list[str]:
    """Every query parameter name: read from args in the code, fields of GET forms, path arguments as names."""
    names = KNOWN_NAMES | URL_FOR_KEYWORDS
    for path in APP_SOURCE.rglob("*.py"):
        names |= set(ARG_READ.findall(path.read_text(encoding="utf-8")))
    for form in GET_FORMS:
        names |= {name for name in dir(form) if isinstance(getattr(form, name, None), UnboundField)}
    for rule in app.url_map.iter_rules():
        names |= set(rule.arguments)
    return sorted(names - {"csrf_token"})


class RecordingArgs(ImmutableMultiDict):
    """request.args that note each name looked up (get, [], getlist, in)."""

    looked_up: set[str] = set()

    def __getitem__(self, key):
        RecordingArgs.looked_up.add(key)
        return super().__getitem__(key)

    def getlist(self, key, type=None):  # noqa: A002 (werkzeug's name)
        RecordingArgs.looked_up.add(key)
        return super().getlist(key, type)

    def __contains__(self, key):
        RecordingArgs.looked_up.add(key)
        return super().__contains__(key)


@pytest.fixture
def world(app_ctx, monkeypatch):
    monkeypatch.setattr(Request, "parameter_storage_class", RecordingArgs)
    commune = slice_communes(1)[0]
    return {
        "commune": commune,
        "petition": petition_in(commune),
        "central": officer("central"),
        "commune_officer": officer("commune", commune),
    }


def valid_path_args(world, endpoint: str) -> dict[str, list[str]]:
    """Valid values of path arguments (several where the format of the answer differs)."""
    petition = world["petition"]
    common = {
        "code": [petition.display_code],
        "public_id": [petition.public_id],
        "service_request_id": [petition.public_id],
        "token": [petition.public_id],
        "service_code": ["roads"],
        "petition_id": [str(petition.id)],
        "job_id": ["no-such-job"],
        "fmt": ["json", "xml"],
        "filename": ["css/portal.css"],
    }
    by_endpoint = {
        "api.area": {"code": [world["commune"]]},
        "maps.scorecard": {"code": [world["commune"]]},
        "maps.export": {"fmt": ["csv", "geojson"]},
    }
    return {**common, **by_endpoint.get(endpoint, {})}


def fill(rule, values: dict[str, str]) -> str:
    path = rule.rule
    for name in rule._converters:  # the path's own arguments (a rule's defaults are not in its path)
        path = re.sub(rf"<(?:[^<>:]+:)?{name}>", quote(values[name], safe=""), path)
    return path


def paths_of(rule, world) -> tuple[list[str], list[tuple[str, str]]]:
    """The valid paths of a rule, and (path, what) with hostile values in each string or integer argument."""
    known = valid_path_args(world, rule.endpoint)
    names = sorted(rule._converters)
    converters = {name: type(rule._converters[name]).__name__ for name in names}
    options = [known.get(name) or (["1"] if converters[name] == "IdConverter" else ["x"]) for name in names]
    valid = [fill(rule, dict(zip(names, combo, strict=True))) for combo in itertools.product(*options)]
    base = dict(zip(names, (o[0] for o in options), strict=True))
    hostile = []
    for name, kind in converters.items():
        if kind in ("UnicodeConverter", "PathConverter"):
            values = [v for v in HOSTILE if v]  # an empty segment is another route
        elif kind in ("IdConverter", "IntegerConverter"):
            values = HUGE_IDS
        else:
            continue  # any(json, xml): only its own values reach the route
        hostile += [(fill(rule, {**base, name: v}), f"path {name}={v[:20]!r}") for v in values]
    return valid, hostile


def badly_answered(path: str, response) -> str | None:
    """Why this answer to hostile input is not acceptable (None when it is)."""
    status, body = response.status_code, response.get_data()  # get_data streams an export to its end
    if status >= 500:
        return str(status)
    if status < 400:
        return None
    if path.startswith(("/api/", "/geo/")) or path in ("/metrics", "/healthz"):  # machines' addresses: JSON
        try:
            error = json.loads(body)["error"]
            assert error["code"] and error["message"]
        except (ValueError, KeyError, TypeError, AssertionError):
            return f"{status} without the API's JSON error: {body[:120]!r}"
    elif path.startswith("/open311/"):
        try:
            if response.mimetype == "text/xml":
                root = ET.fromstring(body)
                assert root.tag == "errors" and len(root) and all(e.findtext("description") for e in root)
            else:
                errors = json.loads(body)
                assert errors and all(e["code"] == status and e["description"] for e in errors)
        except (ValueError, KeyError, TypeError, AssertionError, ET.ParseError):
            return f"{status} without Open311's error list: {body[:120]!r}"
    elif response.mimetype != "text/html" or not re.search(rb'role="alert"[^>]*>\s*(?:<h1>)?\s*[^<\s]', body):
        return f"{status} without an HTML page that says what is wrong"
    return None


class Walker:
    """Sends requests, records what each route looked up and every bad answer."""

    def __init__(self, client, names: list[str]):
        self.client, self.names, self.sent, self.wrong = client, names, 0, []

    def send(self, path: str, query: list[tuple[str, str]], label: str = "") -> tuple[int, set[str]]:
        url = f"{path}?{urlencode(query)}" if query else path
        self.sent += 1
        RecordingArgs.looked_up = set()
        # A fresh client address per request: the walk tests parsing, not the rate limits.
        environ = {"REMOTE_ADDR": f"10.{self.sent >> 16 & 255}.{self.sent >> 8 & 255}.{self.sent & 255}"}
        status = 500
        try:
            response = self.client.get(url, environ_base=environ)
            status, problem = response.status_code, badly_answered(path, response)
        except Exception as exc:  # noqa: BLE001  (what a caller would get as a 500)
            db.session.rollback()
            problem = f"raised {type(exc).__name__}: {str(exc)[:160]}"
        if problem:
            self.wrong.append(f"{label} {url[:150]!r}: {problem}")
        return status, set(RecordingArgs.looked_up)

    def walk(self, rule, world, thorough: bool, everywhere: set[str]) -> None:
        valid, hostile = paths_of(rule, world)
        for path, what in hostile:
            self.send(path, [], f"{rule.rule} [{what}]")
        for index, path in enumerate(valid):
            label = f"{rule.rule} [query]"
            _, looked_up = self.send(path, [], label)
            alone = sorted(looked_up - everywhere) if thorough and index == 0 else []
            for value in HOSTILE:
                status, _ = self.send(path, [(name, value) for name in self.names], label)
                if 400 <= status < 500 and value not in AT_ONCE_ONLY:
                    for name in alone:
                        self.send(path, [(name, value)], label)
            twice = [(name, value) for name in self.names for value in ("1", "2")]
            self.send(path, twice, label)
            for name in alone:
                self.send(path, [(name, "2026-01-01"), (name, "2026-02-01")], label)


def everywhere_names(client) -> set[str]:
    """The names looked up on any request at all (a page that does not exist): the language, say."""
    RecordingArgs.looked_up = set()
    client.get("/no-such-page")
    return set(RecordingArgs.looked_up)


def test_the_walk_reaches_every_parameter_the_portal_reads(app):
    names = set(names_the_app_reads(app))
    assert {"since", "until", "week", "province", "commune", "status", "category", "q", "village", "after"} <= names
    assert {"service_request_id", "service_code", "start_date", "end_date", "lat", "lon", "parent", "sort"} <= names
    assert {"method", "overdue", "lang", "new", "size", "contact", "code", "fmt", "_method"} <= names


WHO = {
    # who: (which routes, which of them get each looked-up name alone)
    "anonymous": (lambda rule: True, lambda rule: not rule.startswith("/officer")),
    "central": (lambda rule: True, lambda rule: rule.startswith("/officer")),
    "commune_officer": (lambda rule: rule.startswith("/officer"), lambda rule: True),
}


@pytest.mark.parametrize("who", list(WHO))
def test_hostile_query_strings_never_get_a_server_error(app, client, world, who, capsys):
    """Public routes parse alike for every caller: central staff walk them with the values at once only."""
    names = names_the_app_reads(app)
    if who != "anonymous":
        log_in(client, world[who])
    walks, thorough = WHO[who]
    rules = [r for r in sorted(app.url_map.iter_rules(), key=lambda r: r.rule) if "GET" in r.methods]
    rules = [r for r in rules if walks(r.rule)]
    everywhere = everywhere_names(client)
    walker = Walker(client, names)
    started = time.perf_counter()
    for number, rule in enumerate(rules):
        deep = thorough(rule.rule)
        walker.walk(rule, world, deep, everywhere if number else set())  # the first route: every name alone
    elapsed = time.perf_counter() - started
    with capsys.disabled():
        print(f"\n{who}: {walker.sent} requests to {len(rules)} routes, {len(names)} names, {elapsed:.1f} s")
    assert not walker.wrong, f"{len(walker.wrong)} bad answers:\n" + "\n".join(walker.wrong[:40])


DATES = ["9999-12-31", "0001-01-01", "99999-01-01", "２０２６-01-01", "2026-02-30", "²", "<script>"]
WEEKS = ["²", "١٢", "５", "-1", "105", str(10**30), "1e309", "NaN"]
CHOICES = ["<script>", "' OR 1=1 --", "\u202e", "x" * 10_000]
MAP_FILTERS = {"since": DATES, "until": DATES, "week": WEEKS, "category": CHOICES}
STRICT = [
    ("/map", MAP_FILTERS),
    ("/officer/map", {**MAP_FILTERS, "status": CHOICES}),
    ("/officer/report", {**MAP_FILTERS, "status": CHOICES}),
    ("/officer/export.csv", {**MAP_FILTERS, "status": CHOICES, "contact": ["maybe", "2"]}),
    (
        "/officer/",
        {
            "since": DATES,
            "until": DATES,
            "status": CHOICES,
            "category": CHOICES,
            "method": CHOICES,
            "sort": CHOICES,
            "overdue": ["maybe", "2"],
            "q": ["x" * 101],
        },
    ),
    ("/open311/v2/requests.json", {"start_date": DATES, "end_date": DATES, "status": CHOICES}),
    ("/open311/v2/requests.xml", {"start_date": DATES[:2]}),
    ("/api/v1/areas", {"q": ["x" * 101], "parent": ["x" * 33]}),
]


@pytest.mark.parametrize("path, filters", STRICT, ids=[path for path, _ in STRICT])
def test_malformed_values_of_known_parameters_are_a_400_that_names_them(client, world, path, filters):
    if path.startswith("/officer"):
        log_in(client, world["central"])
    for name, values in filters.items():
        for value in [*values, None]:  # None: the name given twice
            query = [(name, "2026-01-01"), (name, "2026-02-01")] if value is None else [(name, value)]
            response = client.get(f"{path}?{urlencode(query)}")
            assert response.status_code == 400, (path, name, value)
            assert name in response.get_data(as_text=True), (path, name, value)
            assert badly_answered(path, response) is None


@pytest.mark.parametrize(
    "lat, lon", [("NaN", "107.5"), ("16.4", "inf"), ("1e309", "107.5"), ("١٦", "١٠٧"), ("1_6.4", "107.5")]
)
def test_a_point_in_other_than_plain_decimal_numbers_is_a_400(client, app_ctx, lat, lon):
    response = client.get(f"/api/v1/locate?{urlencode({'lat': lat, 'lon': lon})}")
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_coordinates"


def test_good_filters_still_answer(client, world):
    log_in(client, world["central"])
    for url in (
        "/map?since=2026-01-01&until=2026-12-31",
        "/map?week=3",
        "/officer/map?week=0&status=received&category=roads",
        "/officer/report?since=2000-01-01&until=2099-12-31",
        "/officer/?since=2026-01-01&overdue=y&sort=urgent&method=chosen&q=đèn",
        "/open311/v2/requests.json?start_date=2026-11-01&end_date=2026-11-22",
    ):
        assert client.get(url).status_code == 200, url


def test_links_keep_the_filters_and_nothing_else(client, world):
    log_in(client, world["central"])
    html = client.get("/officer/report?since=2026-01-01&_method=POST&fmt=x").get_data(as_text=True)
    assert 'href="/officer/export.csv?since=2026-01-01"' in html
    inbox = client.get("/officer/?q=den&_anchor=x&code=y").get_data(as_text=True)
    assert "q=den" in inbox and "_anchor" not in inbox and "code=y" not in inbox
    petition = world["petition"]
    moved = client.get(f"/petitions/{petition.tracking_code.lower()}?new=1&code=x&_method=POST")
    assert moved.status_code == 301 and moved.headers["Location"].endswith(f"/petitions/{petition.display_code}?new=1")
