"""The village register: provinces and communes keep their own list of villages and residential groups.

- areas.retired_at / successor_id: a village removed from the register (or
  merged into another) stays for the petitions filed in it, without a shape;
  its successor takes its open petitions.
- areas.geom and label_point may be empty for a village listed without a
  point (geom_source 'none'): it is named in pickers but draws no cell.
- village_uploads: an uploaded list, kept as read (pending) until an officer
  applies it; village_changes: every change of the register, append-only.
- village_register_settings: whether a province's communes may upload.
- geotag(): a village without a shape is never the nearest village.
- petitions_open_village: the open petitions of a village, which follow it
  when it is merged or removed (a small partial index: open petitions only).

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-05
"""

from pathlib import Path

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

# The open statuses when this migration was written (app/models/petition.py's OPEN_STATUSES).
OPEN_STATUSES = ("received", "accepted", "in_progress", "forwarded")
SQL = Path(__file__).resolve().parent.parent / "sql"


def upgrade():
    op.add_column("areas", sa.Column("retired_at", sa.DateTime(timezone=True)))
    op.add_column("areas", sa.Column("successor_id", sa.Integer(), sa.ForeignKey("areas.id")))
    op.alter_column("areas", "geom", nullable=True)
    op.alter_column("areas", "label_point", nullable=True)
    op.drop_constraint("areas_geom_source", "areas")
    op.create_check_constraint("areas_geom_source", "areas", "geom_source IN ('surveyed', 'derived', 'none')")
    op.create_check_constraint(
        "areas_shape_or_village",
        "areas",
        "(geom IS NOT NULL AND label_point IS NOT NULL) OR level = 'village'",
    )
    # A retired village is a village, and has no shape: geotagging never lands in it.
    op.create_check_constraint(
        "areas_retired_village", "areas", "retired_at IS NULL OR (level = 'village' AND geom IS NULL)"
    )

    op.create_table(
        "village_register_settings",
        sa.Column("province_id", sa.Integer(), sa.ForeignKey("areas.id"), primary_key=True),
        sa.Column("communes_may_upload", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_table(
        "village_uploads",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("province_id", sa.Integer(), sa.ForeignKey("areas.id")),  # None: an operator's, the country
        sa.Column("commune_id", sa.Integer(), sa.ForeignKey("areas.id")),  # a commune officer's upload
        sa.Column("uploaded_by_id", sa.Integer(), sa.ForeignKey("users.id")),
        sa.Column("uploaded_by_label", sa.String(64), nullable=False),
        sa.Column("filename", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("content", postgresql.JSONB(), nullable=False),  # the lines and polygons as read
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("applied_at", sa.DateTime(timezone=True)),
        sa.Column("summary", postgresql.JSONB(), nullable=False, server_default="{}"),
        sa.CheckConstraint("status IN ('pending', 'applied', 'discarded')", name="village_uploads_status"),
    )
    op.create_table(
        "village_changes",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("actor_id", sa.Integer(), sa.ForeignKey("users.id")),
        sa.Column("actor_label", sa.String(64), nullable=False),
        sa.Column("upload_id", sa.Integer(), sa.ForeignKey("village_uploads.id")),
        sa.Column("commune_id", sa.Integer(), sa.ForeignKey("areas.id"), nullable=False),
        sa.Column("village_id", sa.Integer(), sa.ForeignKey("areas.id"), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("data", postgresql.JSONB(), nullable=False, server_default="{}"),
    )
    op.create_index("village_changes_commune", "village_changes", ["commune_id", "id"])
    op.create_index("village_changes_upload", "village_changes", ["upload_id"])
    op.execute(
        """CREATE FUNCTION village_changes_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
           BEGIN RAISE EXCEPTION 'village_changes is append-only'; END $$"""
    )
    op.execute(
        "CREATE TRIGGER village_changes_append_only BEFORE UPDATE OR DELETE ON village_changes "
        "FOR EACH ROW EXECUTE FUNCTION village_changes_append_only()"
    )
    op.execute((SQL / "0023_geotag_register.sql").read_text(encoding="utf-8"))
    op.create_index(
        "petitions_open_village",
        "petitions",
        ["village_id"],
        postgresql_where=sa.text(f"status IN ({', '.join(repr(s) for s in OPEN_STATUSES)})"),
    )


def downgrade():
    shapeless = op.get_bind().execute(sa.text("SELECT count(*) FROM areas WHERE geom IS NULL")).scalar()
    if shapeless:
        raise RuntimeError(
            f"{shapeless} villages have no shape (retired, or listed without a point): the schema before 0023 "
            "cannot hold them. Load a boundary file that gives them shapes first."
        )
    op.drop_index("petitions_open_village", "petitions")
    op.execute((SQL / "0001_geotag.sql").read_text(encoding="utf-8"))
    op.execute((SQL / "0013_geotag_one_row.sql").read_text(encoding="utf-8"))
    op.drop_table("village_changes")
    op.execute("DROP FUNCTION village_changes_append_only()")
    op.drop_table("village_uploads")
    op.drop_table("village_register_settings")
    op.drop_constraint("areas_retired_village", "areas")
    op.drop_constraint("areas_shape_or_village", "areas")
    op.drop_constraint("areas_geom_source", "areas")
    op.create_check_constraint("areas_geom_source", "areas", "geom_source IN ('surveyed', 'derived')")
    op.alter_column("areas", "label_point", nullable=False)
    op.alter_column("areas", "geom", nullable=False)
    op.drop_column("areas", "successor_id")
    op.drop_column("areas", "retired_at")
