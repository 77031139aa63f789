"""The area hierarchy, its generations, and the geotag() function.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

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
GEOTAG_FUNCTION = """
CREATE OR REPLACE FUNCTION geotag(lon double precision, lat double precision,
                                  near_m double precision DEFAULT 2000, gen integer DEFAULT NULL)
RETURNS TABLE (village_id integer, commune_id integer, province_id integer,
               method text, distance_m double precision)
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
  pt geometry := ST_SetSRID(ST_MakePoint(lon, lat), 4326);
  v record;
  c record;
BEGIN
  IF gen IS NULL THEN
    SELECT id INTO gen FROM generations WHERE is_current;
  END IF;

  -- 1. The village whose polygon covers the point; on a shared edge the
  --    lowest code wins, every time.
  SELECT a.id, a.parent_id INTO v FROM areas a
  WHERE a.level = 'village' AND a.generation_id = gen AND ST_Covers(a.geom, pt)
  ORDER BY a.code LIMIT 1;
  IF FOUND THEN
    RETURN QUERY SELECT v.id, v.parent_id, p.parent_id, 'inside'::text, NULL::double precision
                 FROM areas p WHERE p.id = v.parent_id;
    RETURN;
  END IF;

  -- 2. The commune that covers it (its villages may not cover it all) …
  SELECT a.id, a.parent_id, 0::double precision AS dist INTO c FROM areas a
  WHERE a.level = 'commune' AND a.generation_id = gen AND ST_Covers(a.geom, pt)
  ORDER BY a.code LIMIT 1;
  -- 3. … else the nearest commune within near_m (GPS drift on a coast or a
  --    river). The degree box pre-filters on the index; geography measures.
  IF NOT FOUND THEN
    SELECT a.id, a.parent_id, ST_Distance(a.geom::geography, pt::geography) AS dist INTO c
    FROM areas a
    WHERE a.level = 'commune' AND a.generation_id = gen
      AND ST_DWithin(a.geom, pt, near_m / (111000 * cos(radians(least(abs(lat), 80)))))
      AND ST_DWithin(a.geom::geography, pt::geography, near_m)
    ORDER BY 3, a.code LIMIT 1;
  END IF;
  IF NOT FOUND THEN
    RETURN QUERY SELECT NULL::integer, NULL::integer, NULL::integer, 'unlocated'::text, NULL::double precision;
    RETURN;
  END IF;

  -- Then the commune's nearest village, if it has any.
  SELECT a.id, ST_Distance(a.geom::geography, pt::geography) AS dist INTO v FROM areas a
  WHERE a.parent_id = c.id AND a.level = 'village'
  ORDER BY a.geom <-> pt, a.code LIMIT 1;
  IF v.id IS NULL THEN
    RETURN QUERY SELECT NULL::integer, c.id, c.parent_id,
                        CASE WHEN c.dist = 0 THEN 'inside' ELSE 'nearest' END, NULLIF(c.dist, 0);
  ELSE
    RETURN QUERY SELECT v.id, c.id, c.parent_id, 'nearest'::text, v.dist;
  END IF;
END
$$;
"""


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
    op.execute(GEOTAG_FUNCTION)


def downgrade():
    op.execute("DROP FUNCTION IF EXISTS geotag(double precision, double precision, double precision, integer)")
    op.drop_table("areas")
    op.drop_table("generations")
