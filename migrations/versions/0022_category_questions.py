"""Categories may ask the citizen more (a list, a number, a yes/no) and show a notice; the answers are kept.

They are also the Open311 service definitions' attributes, which a partner's
POST requests must satisfy. Two to start with: public order asks whether
anyone is in danger now (and says to call 113 or 114 first); environment
asks what kind of pollution.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("categories", sa.Column("notice", sa.Text()))
    op.add_column("petitions", sa.Column("category_answers", postgresql.JSONB()))
    questions = op.create_table(
        "category_questions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("category_code", sa.String(32), sa.ForeignKey("categories.code"), nullable=False),
        sa.Column("code", sa.String(40), nullable=False),  # the Open311 attribute's code
        sa.Column("position", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("options", postgresql.JSONB(), nullable=False, server_default="[]"),  # [[key, label], …] for a list
        sa.Column("required", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.CheckConstraint("kind IN ('list', 'number', 'yesno')", name="category_questions_kind"),
        sa.UniqueConstraint("category_code", "code", name="category_questions_code"),
    )
    op.execute(
        "UPDATE categories SET notice = 'Nếu có người đang gặp nguy hiểm, hãy gọi ngay 113 (công an); "
        "cháy, nổ: 114; cấp cứu: 115. Kiến nghị trên cổng không thay cho cuộc gọi khẩn cấp.' "
        "WHERE code = 'public_order'"
    )
    op.bulk_insert(
        questions,
        [
            {"category_code": "public_order", "code": "danger_now", "position": 1, "kind": "yesno",
             "label": "Có ai đang gặp nguy hiểm ngay lúc này không?", "options": [], "required": True, "active": True},
            {"category_code": "environment", "code": "pollution", "position": 1, "kind": "list",
             "label": "Loại ô nhiễm", "required": False, "active": True,
             "options": [["water", "Nước"], ["air", "Không khí, mùi"], ["waste", "Rác thải"], ["noise", "Tiếng ồn"]]},
        ],
    )  # fmt: skip


def downgrade():
    op.drop_table("category_questions")
    op.drop_column("petitions", "category_answers")
    op.drop_column("categories", "notice")
