"""Who sees which petitions — enforced in the query, never only in a template.

A commune officer sees the petitions in their commune's inbox; provincial
staff every petition of their province (and its queue); central staff and
administrators all. Every officer route loads petitions through here, so a
petition outside the officer's area is simply not found (404).
"""

from __future__ import annotations

from flask import abort
from sqlalchemy import Select, or_, select

from app.extensions import db
from app.models import Area, Petition, User


def petitions_visible_to(user: User) -> Select:
    """SELECT of the petitions this officer may see."""
    query = select(Petition)
    if user.role == "commune":
        return query.where(Petition.assigned_area_id == user.area_id)
    if user.role == "province":
        return query.where(or_(Petition.province_id == user.area_id, Petition.assigned_area_id == user.area_id))
    return query


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
