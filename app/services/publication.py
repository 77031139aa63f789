"""What anonymous readers may see of a petition: the published view, defined once.

A petition is published when an officer has accepted it (accepted_at), the
citizen allowed publication (the form's choice; "officials' conduct" is
private unless the citizen opts in), and it is not rejected or merged. Its
published view is the redacted title and text, the place coarsened to its
village (the village's label point; ~100 m when it has none), photos only
when an officer released them — never the tracking code, the exact point,
the citizen's name, phone or e-mail. Open311 reads, the similar-petitions
box and the public petition page all show this view and nothing else.
"""

from __future__ import annotations

from geoalchemy2.shape import to_shape
from sqlalchemy import ColumnElement, and_

from app.models import Petition, PetitionPhoto
from app.models.petition import PUBLISHED_STATUSES  # the statuses in which an accepted petition stays published

# Categories whose petitions stay private unless the citizen asks to publish them.
PRIVATE_BY_DEFAULT = ("officials",)
COARSE_DIGITS = 3  # ~100 m: a point with no village is rounded to this


def published() -> ColumnElement[bool]:
    """The SQL condition of a published petition (models/petition.py published_sql is the same, as text)."""
    return and_(
        Petition.accepted_at.is_not(None),
        Petition.publishable.is_(True),
        Petition.status.in_(PUBLISHED_STATUSES),
    )


def is_published(petition: Petition) -> bool:
    return petition.accepted_at is not None and petition.publishable and petition.status in PUBLISHED_STATUSES


def publishable_by_default(category: str) -> bool:
    """Whether the form proposes publication for a category (the citizen decides)."""
    return category not in PRIVATE_BY_DEFAULT


def public_point(petition: Petition) -> tuple[float, float] | None:
    """(lon, lat) the public may see: the village's label point, else the point rounded to ~100 m."""
    if petition.village is not None and petition.village.label_point is not None:
        return _label(petition.village)
    if petition.location is not None:
        point = to_shape(petition.location)
        return round(point.x, COARSE_DIGITS), round(point.y, COARSE_DIGITS)
    if petition.commune is not None and petition.commune.label_point is not None:
        return _label(petition.commune)
    return None


def _label(area) -> tuple[float, float]:
    point = to_shape(area.label_point)
    return round(point.x, 5), round(point.y, 5)


def public_photos(petition: Petition) -> list[PetitionPhoto]:
    """The processed photos the public may see (none unless an officer released them)."""
    if not (petition.photos_released and is_published(petition)):
        return []
    return [photo for photo in petition.photos if photo.status == "ready"]
