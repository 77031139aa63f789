"""Geotagging and area look-ups over HTTP."""

from __future__ import annotations

from flask import jsonify, request, url_for

from app import spatial
from app.api import bp
from app.services import areas, categories, petitions
from app.services.geotag import InvalidPoint, as_dict, geotag, parse_point


def error(code: str, message: str, status: int = 400):
    return jsonify({"error": {"code": code, "message": message}}), status


@bp.errorhandler(InvalidPoint)
def invalid_point(exc: InvalidPoint):
    return error(exc.code, exc.message)


def requested_point() -> tuple[float, float]:
    """The (lon, lat) of the request's lat and lon arguments; InvalidPoint if not a place in Vietnam."""
    return parse_point(request.args.get("lat"), request.args.get("lon"))


@bp.get("/locate")
def locate():
    """Place a point in its village, commune and province."""
    lon, lat = requested_point()
    return jsonify(as_dict(geotag(lon, lat)))


@bp.get("/areas/<code>")
def area(code: str):
    """Show one area with its parent chain."""
    found = spatial.area_by_code(code)
    if found is None:
        return error("not_found", f"Không có địa bàn mã {code}.", 404)
    return jsonify(areas.detail(found))


@bp.get("/areas")
def area_list():
    """List the children of an area (the provinces when no parent is given)."""
    parent_code = request.args.get("parent", "").strip()
    parent = None
    if parent_code:
        parent = spatial.area_by_code(parent_code)
        if parent is None:
            return error("not_found", f"Không có địa bàn mã {parent_code}.", 404)
    query = request.args.get("q", "")
    if len(query) > 100:
        return error("query_too_long", "Từ khóa tìm kiếm dài quá 100 ký tự.")
    return jsonify({"areas": areas.listing(parent, query)})


@bp.get("/boundaries")
def boundaries():
    """Simplified boundaries of an area's children (the provinces when no parent), as GeoJSON."""
    parent_code = request.args.get("parent", "").strip()
    parent = spatial.area_by_code(parent_code) if parent_code else None
    if parent_code and parent is None:
        return error("not_found", f"Không có địa bàn mã {parent_code}.", 404)
    response = jsonify(spatial.boundaries(parent))
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


@bp.get("/petitions/similar")
def similar_petitions():
    """Open petitions of the same category nearby, so a citizen can add a voice instead of filing again."""
    lon, lat = requested_point()
    category = request.args.get("category", "")
    if category not in {code for code, _ in categories.choices()}:
        return error("unknown_category", "Lĩnh vực không hợp lệ.")
    found = petitions.similar_nearby(lon, lat, category)
    return jsonify(
        {
            "petitions": [
                {
                    "tracking_code": p.display_code,
                    "title": p.shown_title,
                    "category": p.category_code,
                    "status": p.status_name,
                    "distance_m": round(distance),
                    "supporters": p.supporters,
                    "status_url": url_for("petitions.status", code=p.display_code),
                    "support_url": url_for("petitions.support", code=p.display_code),
                }
                for p, distance in found
            ]
        }
    )
