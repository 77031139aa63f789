"""The area hierarchy, its generations, and the geotag() function.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from pathlib import Path

import geoalchemy2
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Geotagging inside the database, so that an INSERT of a petition can place
# it in the same statement. Returns the village, commune and province ids,
# how they were found (inside | nearest | unlocated) and, when not inside,
# the distance in metres. See app/services/geotag.py for the order of steps.
GEOTAG_FUNCTION = Path(__file__).resolve().parent.parent / "sql" / "0001_geotag.sql"


def upgrade():
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute("CREATE EXTENSION IF NOT EXISTS unaccent")

    op.create_table(
        "generations",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("description", sa.String(500), nullable=False, server_default=""),
        sa.Column("is_current", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_index(
        "generations_one_current", "generations", ["is_current"], unique=True, postgresql_where=sa.text("is_current")
    )

    op.create_table(
        "areas",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("generation_id", sa.Integer(), sa.ForeignKey("generations.id"), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("unit_type", sa.String(40), nullable=False),
        sa.Column("search_name", sa.String(260), nullable=False),
        sa.Column("parent_id", sa.Integer(), sa.ForeignKey("areas.id"), nullable=True),
        sa.Column("geom", geoalchemy2.Geometry("MULTIPOLYGON", srid=4326, spatial_index=False), nullable=False),
        sa.Column("label_point", geoalchemy2.Geometry("POINT", srid=4326, spatial_index=False), nullable=False),
        sa.Column("population", sa.Integer(), nullable=True),
        sa.Column("geom_source", sa.String(16), nullable=False, server_default="surveyed"),
        sa.UniqueConstraint("generation_id", "code", name="areas_generation_code"),
        sa.CheckConstraint("level IN ('province', 'commune', 'village')", name="areas_level"),
        sa.CheckConstraint("geom_source IN ('surveyed', 'derived')", name="areas_geom_source"),
        sa.CheckConstraint("(level = 'province') = (parent_id IS NULL)", name="areas_parent_by_level"),
    )
    for level in ("village", "commune", "province"):
        op.create_index(
            f"areas_geom_{level}",
            "areas",
            ["geom"],
            postgresql_using="gist",
            postgresql_where=sa.text(f"level = '{level}'"),
        )
    op.create_index("areas_parent", "areas", ["parent_id"])
    op.execute(GEOTAG_FUNCTION.read_text(encoding="utf-8"))


def downgrade():
    op.execute("DROP FUNCTION IF EXISTS geotag(double precision, double precision, double precision, integer)")
    op.drop_table("areas")
    op.drop_table("generations")
