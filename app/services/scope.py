"""Who sees which petitions — enforced in the query, never only in a template.

A commune officer sees the petitions in their commune's inbox; provincial
staff every petition whose inbox is in their province (its communes' and its
own queue), wherever the petition was first placed — so a petition central
staff forward into another province is seen, and counted, there; central
staff and administrators all. The rule is `criteria()`, used by the inbox,
petition pages, maps, reports, exports, jobs and partner keys alike; every
officer route loads petitions through here, so a petition outside the
officer's area is simply not found (404).
"""

from __future__ import annotations

from flask import abort
from sqlalchemy import Select, or_, select

from app.extensions import db
from app.models import Area, Petition, User


def criteria_for_area(area: Area | None) -> dict[str, int]:
    """The petitions of an area's inbox as {column: value}: a commune's inbox, a province's all (None: all)."""
    if area is None:
        return {}
    if area.level == "commune":
        return {"assigned_area_id": area.id}
    if area.level == "province":
        return {"assigned_province_id": area.id}
    raise ValueError(f"no inbox at the level {area.level}")


def criteria(user: User) -> dict[str, int]:
    """The petitions this officer may see, as {column: value} (empty: all of them)."""
    if user.role == "commune":
        return {"assigned_area_id": user.area_id}
    if user.role == "province":
        return {"assigned_province_id": user.area_id}
    return {}


def inbox_of(petition: Petition) -> Area | None:
    """The area whose inbox holds the petition — a commune's, or a province's queue — or None: central staff's only.

    The same column criteria() reads, so what the citizen is told of who handles
    the petition (app/services/timeline.py) is who can see it.
    """
    return db.session.get(Area, petition.assigned_area_id) if petition.assigned_area_id is not None else None


def petitions_visible_to(user: User) -> Select:
    """SELECT of the petitions this officer may see."""
    return select(Petition).where(*(getattr(Petition, column) == value for column, value in criteria(user).items()))


def petition_for(user: User, petition_id: int) -> Petition:
    """The petition if this officer may see it, else 404."""
    petition = db.session.scalar(petitions_visible_to(user).where(Petition.id == petition_id))
    if petition is None:
        abort(404)
    return petition


def areas_visible_to(user: User) -> Select:
    """SELECT of the areas this officer works in (their area and everything below it)."""
    if user.role == "commune":
        return select(Area).where(Area.id == user.area_id)
    if user.role == "province":
        return select(Area).where(or_(Area.id == user.area_id, Area.parent_id == user.area_id))
    return select(Area)
