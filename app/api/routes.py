"""Geotagging and area look-ups over HTTP."""

from __future__ import annotations

from flask import jsonify, request, url_for

from app import params
from app.api import bp
from app.queries.areas import area_by_code
from app.queries.areas import boundaries as children_boundaries
from app.services import areas, categories, petitions
from app.services.geotag import InvalidPoint, as_dict, geotag, parse_point


def error(code: str, message: str, status: int = 400):
    return jsonify({"error": {"code": code, "message": message}}), status


@bp.errorhandler(InvalidPoint)
def invalid_point(exc: InvalidPoint):
    return error(exc.code, exc.message)


def requested_point() -> tuple[float, float]:
    """The (lon, lat) of the request's lat and lon arguments; InvalidPoint if not a place in Vietnam."""
    return parse_point(params.single(request.args, "lat"), params.single(request.args, "lon"))


@bp.get("/locate")
def locate():
    """Place a point in its village, commune and province."""
    lon, lat = requested_point()
    return jsonify(as_dict(geotag(lon, lat)))


@bp.get("/areas/<code>")
def area(code: str):
    """Show one area with its parent chain."""
    found = area_by_code(code)
    if found is None:
        return error("not_found", f"Không có địa bàn mã {code}.", 404)
    return jsonify(areas.detail(found))


class AreaNotFound(LookupError):
    """A code that names no area of the current boundaries."""


@bp.errorhandler(AreaNotFound)
def area_not_found(exc: AreaNotFound):
    return error("not_found", f"Không có địa bàn mã {str(exc)[:40]}.", 404)


def _parent():
    """The area the parent argument names (None without one); AreaNotFound for an unknown code."""
    code = params.parse_text(request.args, "parent", 32)
    parent = area_by_code(code) if code else None
    if code and parent is None:
        raise AreaNotFound(code)
    return parent


@bp.get("/areas")
def area_list():
    """List the children of an area (the provinces when no parent is given)."""
    parent = _parent()
    query = params.parse_text(request.args, "q", 100, "query_too_long")
    return jsonify({"areas": areas.listing(parent, query)})


@bp.get("/boundaries")
def boundaries():
    """Simplified boundaries of an area's children (the provinces when no parent), as GeoJSON."""
    response = jsonify(children_boundaries(_parent()))
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


@bp.get("/petitions/similar")
def similar_petitions():
    """Open petitions of the same category nearby, so a citizen can add a voice instead of filing again."""
    lon, lat = requested_point()
    category = params.parse_choice(request.args, "category", [c for c, _ in categories.choices()], "unknown_category")
    if not category:
        return error("unknown_category", "Lĩnh vực không hợp lệ.")
    found = petitions.similar_nearby(lon, lat, category)
    return jsonify(
        {
            "petitions": [
                {
                    "id": p.public_id,
                    "title": p.shown_title,
                    "category": p.category_code,
                    "status": p.status_name,
                    "distance_m": _coarse_distance(distance),
                    "supporters": p.supporters,
                    "status_url": url_for("petitions.public", public_id=p.public_id),
                    "support_url": url_for("petitions.support", public_id=p.public_id),
                }
                for p, distance in found
            ]
        }
    )


def _coarse_distance(metres: float) -> int:
    """The distance to the nearest 50 m: enough to judge "the same problem", too coarse to find a house."""
    return max(50, int(round(metres / 50.0)) * 50)
