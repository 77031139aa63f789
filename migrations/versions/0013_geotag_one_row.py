"""geotag() and place() declared to return one row, so the statements around them join areas by key.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01
"""

from pathlib import Path

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

SQL = Path(__file__).resolve().parent.parent / "sql" / "0013_geotag_one_row.sql"


def upgrade():
    op.execute(SQL.read_text(encoding="utf-8"))


def downgrade():
    # PostgreSQL's defaults for a set-returning plpgsql function.
    for signature in (
        "geotag(double precision, double precision, double precision, integer)",
        "place(double precision, double precision, integer, double precision)",
    ):
        op.execute(f"ALTER FUNCTION {signature} ROWS 1000 COST 100")
