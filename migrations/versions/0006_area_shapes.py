"""Pre-simplified boundaries for maps, per level of detail.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""

import geoalchemy2
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    # coarse: national maps (~1 km); fine: a province's map (~100 m). Made by
    # `flask geodata simplify` with coverage simplification, so neighbours
    # keep their shared edges (simplifying polygon by polygon opens gaps).
    op.create_table(
        "area_shapes",
        sa.Column("area_id", sa.Integer(), sa.ForeignKey("areas.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("detail", sa.String(8), primary_key=True),
        sa.Column("geom", geoalchemy2.Geometry("GEOMETRY", srid=4326, spatial_index=False), nullable=False),
        sa.CheckConstraint("detail IN ('coarse', 'fine')", name="area_shapes_detail"),
    )


def downgrade():
    op.drop_table("area_shapes")
