"""Geotagging and area look-ups over HTTP."""

from __future__ import annotations

from flask import jsonify, request

from app import spatial
from app.api import bp
from app.services import areas
from app.services.geotag import InvalidPoint, geotag, parse_point


def error(code: str, message: str, status: int = 400):
    return jsonify({"error": {"code": code, "message": message}}), status


@bp.get("/locate")
def locate():
    """Place a point in its village, commune and province."""
    try:
        lon, lat = parse_point(request.args.get("lat"), request.args.get("lon"))
    except InvalidPoint as exc:
        return error(exc.code, exc.message)
    return jsonify(geotag(lon, lat).as_dict())


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
