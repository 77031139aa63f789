"""The maps' boundary files under cacheable URLs: only the files the map pages open, each made once.

Boundaries are served once per boundary generation, level and detail from
`/geo/<generation>/<edition>/<level>/<parent code|all>-<detail>.json`: the
same bytes for every viewer (geometry, codes, names, label points; no
count), cached by browsers and proxies for a year (`immutable`) with an
ETag. The edition (stored on the generation, set whenever its areas are
written) changes with a re-import, so a re-import gets new URLs. Only the
current generation is served, and only the files the pages name: the
country's provinces (coarse), a province's communes and a commune's
villages (fine). Anything else — an old or unknown generation or edition,
another level or detail, a parent that is not an area — is a 404 (JSON),
answered before anything is built, and most of it before any query.

Each process keeps the files it made, newest used first, within a budget
of bytes; a file is built by one request while others asking for it wait.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict

from flask import abort, current_app, g, request, url_for

from app.maps import bp, geo
from app.queries.areas import area_codes, boundary_rows, current_generation

CACHE_FOREVER = "public, max-age=31536000, immutable"
# The files a page opens, by level: the name's pattern and the level of the parent it names.
_SERVED = {
    "province": (re.compile(r"all-coarse"), None),
    "commune": (re.compile(r"([0-9]{2,8})-fine"), "province"),
    "village": (re.compile(r"([0-9]{2,8})-fine"), "commune"),
}
_EDITION = re.compile(r"[0-9]{1,20}")
CACHE_BYTES = 64 * 1024 * 1024  # a province's communes are ~100–600 kB, a commune's villages ~10–50 kB


class _Files:
    """The boundary files a process has made, the newest used kept within a budget of bytes.

    One build per file: a request that finds a file being made waits for it.
    """

    def __init__(self, budget: int = CACHE_BYTES):
        self.budget, self.size = budget, 0
        self.files: OrderedDict = OrderedDict()
        self.building: dict = {}  # key → the lock its builder holds
        self.lock = threading.Lock()

    def get(self, key, make):
        while True:
            with self.lock:
                if key in self.files:
                    self.files.move_to_end(key)
                    return self.files[key]
                building = self.building.get(key)
                if building is None:
                    building = self.building[key] = threading.Lock()
                    building.acquire()
                    break
            with building:  # another request is making it: wait, then look again
                pass
        try:
            made = make()
            with self.lock:
                self.files[key] = made
                self.size += len(made.body)
                while self.size > self.budget and len(self.files) > 1:
                    _key, old = self.files.popitem(last=False)
                    self.size -= len(old.body)
            return made
        finally:
            with self.lock:
                del self.building[key]
            building.release()


def _files() -> _Files:
    return current_app.extensions.setdefault("boundary_files", _Files())


@bp.get("/geo/<generation>/<edition>/<any(province, commune, village):level>/<name>.json")
def boundary_file(generation: str, edition: str, level: str, name: str):
    """A boundary file: the country's provinces, a province's communes or a commune's villages; no counts."""
    pattern, parent_level = _SERVED[level]
    match = pattern.fullmatch(name)
    if match is None or not _EDITION.fullmatch(edition) or len(generation) > 64:
        abort(404)  # not a file any page names: no query at all
    served = current()
    if served is None or (generation, edition) != (served[1], served[2]):
        abort(404)
    parent = match.group(1) if parent_level else None
    if parent is not None and parent not in _parents(served, parent_level):
        abort(404)
    detail = "coarse" if level == "province" else "fine"

    def make():
        rows = boundary_rows(served[0], level, parent, detail)
        if rows is None:
            abort(404)  # the parent went with a re-import since its codes were read
        return geo.encode(rows, detail)

    made = _files().get((served[0], edition, level, parent), make)
    response = current_app.response_class(made.body, mimetype="application/json")
    response.set_etag(made.etag)
    response.headers["Cache-Control"] = CACHE_FOREVER
    return response.make_conditional(request)


def _parents(current: tuple[int, str, str], level: str) -> frozenset[str]:
    """The codes of the areas whose children have a file (provinces, communes), once per edition and process."""
    known = current_app.extensions.setdefault("boundary_parents", {})
    key = (current[0], current[2], level)
    if key not in known:
        for old in [k for k in known if k[:2] != key[:2]]:
            del known[old]  # an older edition's
        known[key] = area_codes(current[0], level)
    return known[key]


def current() -> tuple[int, str, str] | None:
    """The current generation (id, name) and its edition, once per request."""
    if "boundary_generation" not in g:
        found = current_generation()
        g.boundary_generation = (found[0], found[1], str(found[2])) if found else None
    return g.boundary_generation


def file_url(level: str, parent: str, detail: str) -> str:
    """Where a boundary file of the current generation is served."""
    _id, name, edition = current()
    return url_for("maps.boundary_file", generation=name, edition=edition, level=level, name=f"{parent}-{detail}")
