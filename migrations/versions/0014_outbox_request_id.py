"""The job outbox keeps the id of the request that caused each job, for the jobs the sweeper hands over later.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("job_outbox", sa.Column("request_id", sa.String(64)))


def downgrade():
    op.drop_column("job_outbox", "request_id")
