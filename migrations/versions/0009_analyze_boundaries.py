"""Planner statistics for the boundary tables of a database loaded before the importer kept them.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    # generations holds a row or two, below autovacuum's threshold for ever
    # analysing it; without statistics PostgreSQL re-plans every geotag
    # statement. The importer now analyses both tables after each load.
    op.execute("ANALYZE generations, areas")


def downgrade():
    pass  # statistics need no undoing
