"""Answer templates: provincial staff keep the answers and rejection reasons their officers reuse.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "answer_templates",
        sa.Column("id", sa.Integer(), primary_key=True),
        # The province whose officers use it; none: central staff's, for every province.
        sa.Column("province_id", sa.Integer(), sa.ForeignKey("areas.id")),
        sa.Column("category_code", sa.String(32), sa.ForeignKey("categories.code")),  # none: every category
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), sa.ForeignKey("users.id")),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("action IN ('resolve', 'reject')", name="answer_templates_action"),
    )
    op.create_index("answer_templates_province", "answer_templates", ["province_id", "action"])


def downgrade():
    op.drop_table("answer_templates")
