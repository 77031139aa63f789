"""The national area hierarchy: provinces → communes → villages.

One ``areas`` table holds every level (as MapIt does), each row tied to its
parent. Boundaries change — the 1 July 2025 merger replaced 63 provinces and
~10,000 communes with 34 and 3,321 — so every area belongs to a boundary
*generation*. A new boundary set is loaded as a new generation beside the
current one; petitions keep the areas they were filed under, and geotagging
uses the generation marked current. A code identifies an area only within a
generation (new commune codes reuse old ones).

Villages and residential groups have no national code and rarely a surveyed
boundary: an operator's file often gives only a point. Such a village gets a
*derived* polygon at import — the Voronoi cell of its point clipped to its
commune — so that every point of a commune lies in exactly one village.
Provinces and communes keep their villages current themselves (the village
register, app/services/village_register.py): a village listed without a
point has no shape, and a village removed from the register is *retired* —
kept, without a shape, for the petitions filed in it.
"""

from __future__ import annotations

from datetime import datetime

from geoalchemy2 import Geometry, WKBElement
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db

PARENT_LEVEL = {"commune": "province", "village": "commune"}


class Generation(db.Model):
    __tablename__ = "generations"
    __table_args__ = (
        # At most one generation is the current one.
        Index("generations_one_current", "is_current", unique=True, postgresql_where=text("is_current")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str] = mapped_column(String(500), default="")
    is_current: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # Changes whenever the generation's areas or simplified shapes are written (app/geodata): its
    # boundary files' URLs carry it, so browsers fetch them again only then.
    edition: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))

    def __repr__(self) -> str:
        return f"<Generation {self.name}{' current' if self.is_current else ''}>"


class Area(db.Model):
    __tablename__ = "areas"
    __table_args__ = (
        UniqueConstraint("generation_id", "code", name="areas_generation_code"),
        CheckConstraint("level IN ('province', 'commune', 'village')", name="areas_level"),
        CheckConstraint("geom_source IN ('surveyed', 'derived', 'none')", name="areas_geom_source"),
        CheckConstraint(
            "(geom IS NOT NULL AND label_point IS NOT NULL) OR level = 'village'", name="areas_shape_or_village"
        ),
        CheckConstraint("retired_at IS NULL OR (level = 'village' AND geom IS NULL)", name="areas_retired_village"),
        CheckConstraint("(level = 'province') = (parent_id IS NULL)", name="areas_parent_by_level"),
        # One spatial index per level: a point lookup for villages never
        # walks province-sized boxes.
        Index("areas_geom_village", "geom", postgresql_using="gist", postgresql_where=text("level = 'village'")),
        Index("areas_geom_commune", "geom", postgresql_using="gist", postgresql_where=text("level = 'commune'")),
        Index("areas_geom_province", "geom", postgresql_using="gist", postgresql_where=text("level = 'province'")),
        Index("areas_parent", "parent_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    generation_id: Mapped[int] = mapped_column(ForeignKey("generations.id"))
    level: Mapped[str] = mapped_column(String(16))
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    unit_type: Mapped[str] = mapped_column(String(40))
    # "Thôn 3" folded to "thon 3": what name searches match against.
    search_name: Mapped[str] = mapped_column(String(260))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"))
    # Loaded only when read (both at once): pickers, petitions and officers
    # load areas by the hundred and need their names, not their boundaries.
    geom: Mapped[WKBElement | None] = mapped_column(
        Geometry("MULTIPOLYGON", srid=4326, spatial_index=False), deferred=True, deferred_group="shape"
    )
    label_point: Mapped[WKBElement | None] = mapped_column(
        Geometry("POINT", srid=4326, spatial_index=False), deferred=True, deferred_group="shape"
    )
    population: Mapped[int | None] = mapped_column(Integer)
    geom_source: Mapped[str] = mapped_column(String(16), default="surveyed")  # surveyed | derived | none
    # A village removed from the register, and the village that took its open petitions.
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    successor_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"))

    parent: Mapped[Area | None] = relationship(remote_side=[id], foreign_keys=[parent_id])
    generation: Mapped[Generation] = relationship()

    @hybrid_property
    def in_register(self) -> bool:
        """Listed today: every area but a retired village (pickers, maps and geotagging use only these)."""
        return self.retired_at is None

    @in_register.inplace.expression
    @classmethod
    def _in_register(cls):
        return cls.retired_at.is_(None)

    @property
    def full_name(self) -> str:
        return f"{self.unit_type} {self.name}".strip()

    def __repr__(self) -> str:
        return f"<Area {self.level} {self.code} {self.full_name}>"
