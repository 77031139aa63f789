"""A second factor for officers: a TOTP secret, the last time step used, recovery codes (hashed).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("users", sa.Column("totp_secret", sa.String(64)))
    op.add_column("users", sa.Column("totp_enabled_at", sa.DateTime(timezone=True)))
    # The newest 30-second step a code was accepted for: the same code is never taken twice.
    op.add_column("users", sa.Column("totp_last_step", sa.BigInteger()))
    op.add_column("users", sa.Column("totp_pending_secret", sa.String(64)))  # the key being enrolled
    op.create_table(
        "recovery_codes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_recovery_codes_user_id", "recovery_codes", ["user_id"])


def downgrade():
    op.drop_table("recovery_codes")
    for column in ("totp_pending_secret", "totp_last_step", "totp_enabled_at", "totp_secret"):
        op.drop_column("users", column)
