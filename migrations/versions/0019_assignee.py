"""A petition may be assigned to a named officer of its inbox: "my petitions", reminders to the assignee first.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("petitions", sa.Column("assignee_id", sa.Integer(), sa.ForeignKey("users.id")))
    # "My petitions", newest first, keyset-paged like the inbox: only the assigned ones are indexed.
    op.execute(
        "CREATE INDEX petitions_assignee ON petitions (assignee_id, created_at DESC, id DESC) "
        "WHERE assignee_id IS NOT NULL"
    )


def downgrade():
    op.execute("DROP INDEX petitions_assignee")
    op.drop_column("petitions", "assignee_id")
