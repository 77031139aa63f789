"""A covering index for a province's maps and report: their aggregates become index-only scans.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    # It replaces petitions_province_created (the same key), carrying what the
    # map and report aggregates read, so a province's petitions no longer cost
    # one heap page each. Measured on 1,000,000 petitions (100,000 in the
    # province): the heatmap grid 393 ms → 37 ms, the report's tables and
    # summary 0.8 s → 0.3 s.
    op.execute(
        "CREATE INDEX IF NOT EXISTS petitions_province_map ON petitions (province_id, created_at DESC) "
        "INCLUDE (commune_id, village_id, category_code, status, location, due_at, status_changed_at, satisfied)"
    )
    op.execute("DROP INDEX IF EXISTS petitions_province_created")


def downgrade():
    op.execute("CREATE INDEX petitions_province_created ON petitions (province_id, created_at DESC)")
    op.execute("DROP INDEX petitions_province_map")
