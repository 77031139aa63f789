"""Area alerts: whoever confirms an address gets each new published petition of an area, at once or daily.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "alert_subscriptions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("area_id", sa.Integer(), sa.ForeignKey("areas.id"), nullable=False),
        sa.Column("categories", postgresql.ARRAY(sa.String(32)), nullable=False, server_default="{}"),
        sa.Column("frequency", sa.String(8), nullable=False),
        # The secret of its confirmation and unsubscribe links (they confirm or end this one alert, nothing else).
        sa.Column("token", sa.String(64), nullable=False, unique=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True)),
        sa.Column("unsubscribed_at", sa.DateTime(timezone=True)),
        sa.Column("last_digest_at", sa.DateTime(timezone=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("frequency IN ('now', 'daily')", name="alert_subscriptions_frequency"),
    )
    op.execute(
        "CREATE INDEX alert_subscriptions_active ON alert_subscriptions (area_id) "
        "WHERE confirmed_at IS NOT NULL AND unsubscribed_at IS NULL"
    )


def downgrade():
    op.drop_table("alert_subscriptions")
