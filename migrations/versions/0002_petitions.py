"""Petitions, their photos, supporters and answers; categories; the job outbox.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from pathlib import Path

import geoalchemy2
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

CATEGORIES = [
    ("land", "Đất đai", "Land", 10),
    ("environment", "Môi trường", "Environment", 20),
    ("social_security", "An sinh xã hội", "Social security", 30),
    ("healthcare", "Y tế", "Healthcare", 40),
    ("education", "Giáo dục", "Education", 50),
    ("roads", "Giao thông, hạ tầng", "Roads and infrastructure", 60),
    ("power_water", "Điện, nước", "Electricity and water", 70),
    ("public_order", "An ninh, trật tự", "Public order", 80),
    ("agriculture", "Nông nghiệp", "Agriculture", 90),
    ("officials", "Thái độ, tác phong cán bộ", "Officials' conduct", 100),
    ("other", "Khác", "Other", 999),
]

# place(): geotag() plus the area the citizen picked by hand. With no point,
# or a point that cannot be placed, the picked area stands ("chosen");
# otherwise the point wins and `disagrees` says whether it contradicts the
# pick at any level the citizen gave.
PLACE_FUNCTION = Path(__file__).resolve().parent.parent / "sql" / "0002_place.sql"


def upgrade():
    categories = op.create_table(
        "categories",
        sa.Column("code", sa.String(32), primary_key=True),
        sa.Column("name_vi", sa.String(120), nullable=False),
        sa.Column("name_en", sa.String(120), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()),
    )
    op.bulk_insert(categories, [dict(zip(("code", "name_vi", "name_en", "position"), c)) for c in CATEGORIES])

    op.create_table(
        "petitions",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("tracking_code", sa.String(16), nullable=False, unique=True),
        sa.Column("idempotency_key", sa.String(64), unique=True),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("category_code", sa.String(32), sa.ForeignKey("categories.code"), nullable=False),
        sa.Column("status", sa.String(32), nullable=False, server_default="received"),
        sa.Column("location", geoalchemy2.Geometry("POINT", srid=4326, spatial_index=False)),
        sa.Column("location_accuracy_m", sa.Float()),
        sa.Column("location_source", sa.String(16)),
        sa.Column("chosen_area_id", sa.Integer(), sa.ForeignKey("areas.id")),
        sa.Column("village_id", sa.Integer(), sa.ForeignKey("areas.id")),
        sa.Column("commune_id", sa.Integer(), sa.ForeignKey("areas.id")),
        sa.Column("province_id", sa.Integer(), sa.ForeignKey("areas.id")),
        sa.Column("geotag_method", sa.String(16), nullable=False),
        sa.Column("geotag_distance_m", sa.Float()),
        sa.Column("geotag_disagrees", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("is_anonymous", sa.Boolean(), nullable=False),
        sa.Column("contact_name", sa.String(120)),
        sa.Column("contact_phone", sa.String(16)),
        sa.Column("consent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("supporters", sa.Integer(), nullable=False, server_default="1"),
        sa.Column("satisfied", sa.Boolean()),
        sa.Column("rating_comment", sa.Text()),
        sa.Column("rated_at", sa.DateTime(timezone=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("geotag_method IN ('inside', 'nearest', 'chosen', 'unlocated')", name="petitions_method"),
        sa.CheckConstraint("is_anonymous OR contact_phone IS NOT NULL", name="petitions_contact"),
    )
    op.create_index("petitions_commune_created", "petitions", ["commune_id", sa.text("created_at DESC")])
    op.create_index("petitions_province_created", "petitions", ["province_id", sa.text("created_at DESC")])
    op.create_index("petitions_location", "petitions", ["location"], postgresql_using="gist")

    op.create_table(
        "petition_photos",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("petition_id", sa.BigInteger(), sa.ForeignKey("petitions.id"), nullable=False, index=True),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("incoming_key", sa.String(200)),
        sa.Column("image_key", sa.String(200)),
        sa.Column("thumb_key", sa.String(200)),
        sa.Column("width", sa.Integer()),
        sa.Column("height", sa.Integer()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("status IN ('pending', 'ready', 'failed')", name="petition_photos_status"),
    )
    op.create_table(
        "petition_supports",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("petition_id", sa.BigInteger(), sa.ForeignKey("petitions.id"), nullable=False, index=True),
        sa.Column("idempotency_key", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_table(
        "petition_answers",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("petition_id", sa.BigInteger(), sa.ForeignKey("petitions.id"), nullable=False, index=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("is_public", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_table(
        "job_outbox",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("job", sa.String(64), nullable=False),
        sa.Column("args", sa.dialects.postgresql.JSONB(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("enqueued_at", sa.DateTime(timezone=True)),
        sa.Column("done_at", sa.DateTime(timezone=True)),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
    )
    op.create_index("job_outbox_open", "job_outbox", ["id"], postgresql_where=sa.text("done_at IS NULL"))
    op.execute(PLACE_FUNCTION.read_text(encoding="utf-8"))


def downgrade():
    op.execute("DROP FUNCTION IF EXISTS place(double precision, double precision, integer, double precision)")
    for table in ("job_outbox", "petition_answers", "petition_supports", "petition_photos", "petitions", "categories"):
        op.drop_table(table)
