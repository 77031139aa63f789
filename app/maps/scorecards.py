"""The way in to the communes' public scorecards: a search by name and a list per province, without JavaScript."""

from __future__ import annotations

from flask import abort, render_template, request

from app import params
from app.maps import bp
from app.queries.areas import area_by_code
from app.services import areas
from app.text import fold

MAX_QUERY = 100  # characters of a commune's name, as the pickers' search allows


@bp.get("/scorecards")
def scorecards():
    """Find a commune's scorecard by its name (diacritics ignored) or in its province's list."""
    query = params.parse_text(request.args, "q", MAX_QUERY, "query_too_long")
    code = params.parse_text(request.args, "province", 32)
    province = area_by_code(code) if code else None
    if code and (province is None or province.level != "province"):
        abort(404)
    too_short = bool(query) and len(fold(query)) < areas.SEARCH_MIN_CHARS
    found, more = areas.find_communes(query, province) if query and not too_short else ([], False)
    return render_template(
        "maps/scorecards.html",
        query=query,
        too_short=too_short,
        found=found,
        more=more,
        province=province,
        communes=areas.by_name(province) if province is not None else [],
        provinces=areas.by_name(None) if province is None else [],
        min_chars=areas.SEARCH_MIN_CHARS,
        max_results=areas.SEARCH_RESULTS,
    )
