"""Partner systems of the Open311 GeoReport v2 API, and the partner behind a petition.

A partner (Zalo official account, a union's app, a provincial 1022 portal)
holds one API key; only its SHA-256 is stored. Petitions it sends keep its id.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "partners",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(50), nullable=False, unique=True),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("rate_limit", sa.Text(), nullable=False, server_default="60 per minute"),
        sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
    )
    op.add_column("petitions", sa.Column("partner_id", sa.Integer(), sa.ForeignKey("partners.id")))
    op.create_index(
        "petitions_partner", "petitions", ["partner_id"], postgresql_where=sa.text("partner_id IS NOT NULL")
    )
    # The Open311 feed: the newest petitions of a date window, whatever their area.
    op.create_index("petitions_created", "petitions", [sa.text("created_at DESC"), sa.text("id DESC")])


def downgrade():
    op.drop_index("petitions_created", "petitions")
    op.drop_index("petitions_partner", "petitions")
    op.drop_column("petitions", "partner_id")
    op.drop_table("partners")
