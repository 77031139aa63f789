"""State agencies reached by e-mail, Open311 or webhook, referrals sent to them and answered back; partners' webhooks.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "agencies",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("area_id", sa.Integer(), sa.ForeignKey("areas.id")),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("address", sa.String(500), nullable=False, server_default=""),
        sa.Column("secret", sa.String(200), nullable=False, server_default=""),
        sa.Column("service_code", sa.String(64), nullable=False, server_default=""),
        sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("channel IN ('email', 'open311', 'webhook', 'none')", name="agencies_channel"),
    )
    op.create_index("agencies_area", "agencies", ["area_id"])
    op.add_column("referrals", sa.Column("agency_id", sa.Integer(), sa.ForeignKey("agencies.id")))
    op.add_column("referrals", sa.Column("send_attempts", sa.SmallInteger(), nullable=False, server_default="0"))
    for name, kind in (
        ("link_nonce", sa.String(32)),
        ("send_status", sa.String(16)),
        ("send_error", sa.Text()),
        ("external_id", sa.String(100)),
        ("polled_at", sa.DateTime(timezone=True)),
        ("replied_by", sa.String(200)),
        ("reply_file_key", sa.String(200)),
        ("reply_file_name", sa.String(200)),
    ):
        op.add_column("referrals", sa.Column(name, kind))
    # Open311 referrals waiting for their answer, polled by the sweeper.
    op.execute(
        "CREATE INDEX referrals_awaiting_open311 ON referrals (polled_at NULLS FIRST) "
        "WHERE external_id IS NOT NULL AND reply IS NULL"
    )
    # Signed callbacks seen (their signature's digest), so that a replay is refused.
    op.create_table(
        "callbacks_seen",
        sa.Column("digest", sa.String(64), primary_key=True),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )

    op.create_table(
        "webhook_subscriptions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("partner_id", sa.Integer(), sa.ForeignKey("partners.id"), nullable=False),
        sa.Column("url", sa.String(500), nullable=False),
        sa.Column("secret", sa.String(100), nullable=False),
        sa.Column("events", postgresql.ARRAY(sa.String(40)), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("subscription_id", sa.Integer(), sa.ForeignKey("webhook_subscriptions.id"), nullable=False),
        sa.Column("event", sa.String(40), nullable=False),
        sa.Column("petition_id", sa.BigInteger(), sa.ForeignKey("petitions.id"), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("attempts", sa.SmallInteger(), nullable=False, server_default="0"),
        sa.Column("response_status", sa.SmallInteger()),
        sa.Column("last_error", sa.Text()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("delivered_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint("status IN ('pending', 'sent', 'failed', 'gave_up')", name="webhook_deliveries_status"),
    )
    op.create_index("webhook_deliveries_log", "webhook_deliveries", ["subscription_id", sa.text("id DESC")])


def downgrade():
    op.drop_table("webhook_deliveries")
    op.drop_table("webhook_subscriptions")
    op.drop_table("callbacks_seen")
    op.execute("DROP INDEX referrals_awaiting_open311")
    for name in (
        "reply_file_name",
        "reply_file_key",
        "replied_by",
        "polled_at",
        "external_id",
        "send_error",
        "send_status",
        "link_nonce",
        "send_attempts",
        "agency_id",
    ):
        op.drop_column("referrals", name)
    op.drop_table("agencies")
