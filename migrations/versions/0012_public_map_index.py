"""The province's covering index also carries what publication reads, for the public map's index-only scans.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

COLUMNS = "commune_id, village_id, category_code, status, location, due_at, status_changed_at, satisfied"


def upgrade():
    # The public map counts published petitions only (accepted_at, publishable).
    op.execute(
        "CREATE INDEX petitions_province_map2 ON petitions (assigned_province_id, created_at DESC) "
        f"INCLUDE ({COLUMNS}, accepted_at, publishable)"
    )
    op.execute("DROP INDEX petitions_province_map")
    op.execute("ALTER INDEX petitions_province_map2 RENAME TO petitions_province_map")


def downgrade():
    op.execute(
        f"CREATE INDEX petitions_province_map2 ON petitions (assigned_province_id, created_at DESC) INCLUDE ({COLUMNS})"
    )
    op.execute("DROP INDEX petitions_province_map")
    op.execute("ALTER INDEX petitions_province_map2 RENAME TO petitions_province_map")
