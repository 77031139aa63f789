"""Each boundary generation keeps its edition; published petitions get a small index for the public map's counts.

The edition names the version of a generation's boundary files in their
URLs (app/maps/boundary_files.py). It was worked out on every request as the
newest transaction that wrote one of the generation's areas or shapes (a scan
of all of them, ~100 ms on the national geography); now the importer sets it
whenever it writes them. Existing generations keep the value they had, so the
files browsers have cached stay valid.

The public map counts published petitions per commune of the place (by
province for one province's map): an index of the published ones only, with
what the filters read, lets those counts be index-only scans of a small index
instead of the whole table. Its condition is publication's
(app/models/petition.py published_sql) written out: when that rule changes,
a migration must rebuild the index, or the planner can no longer use it.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

PUBLISHED = "accepted_at IS NOT NULL AND publishable AND status IN ('accepted', 'in_progress', 'resolved', 'forwarded')"


def upgrade():
    op.add_column("generations", sa.Column("edition", sa.BigInteger(), nullable=False, server_default="0"))
    op.execute(
        """UPDATE generations g SET edition = coalesce(greatest(
             (SELECT max(xmin::text::bigint) FROM areas WHERE generation_id = g.id),
             (SELECT max(s.xmin::text::bigint) FROM area_shapes s JOIN areas a ON a.id = s.area_id
              WHERE a.generation_id = g.id)), 0)"""
    )
    op.execute(
        "CREATE INDEX petitions_public_counts ON petitions (province_id, commune_id, category_code, created_at) "
        f"WHERE {PUBLISHED}"
    )


def downgrade():
    op.execute("DROP INDEX petitions_public_counts")
    op.drop_column("generations", "edition")
