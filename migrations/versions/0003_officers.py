"""Officers, the audit trail, deadlines and holidays, referrals, notices.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from pathlib import Path

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

FOLD_SQL = Path(__file__).resolve().parent.parent / "sql" / "0003_fold.sql"

# Working days allowed in each status before a petition is overdue; a
# category may set its own (category NULL = every category).
DEADLINES = [("received", None, 3), ("forwarded", None, 3), ("accepted", None, 10), ("in_progress", None, 30)]


def upgrade():
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("full_name", sa.String(120), nullable=False, server_default=""),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("area_id", sa.Integer(), sa.ForeignKey("areas.id")),
        sa.Column("password_hash", sa.String(200)),
        sa.Column("activation_hash", sa.String(64)),
        sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("locked_until", sa.DateTime(timezone=True)),
        sa.Column("last_login_at", sa.DateTime(timezone=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("role IN ('commune', 'province', 'central', 'admin')", name="users_role"),
        sa.CheckConstraint("(role IN ('commune', 'province')) = (area_id IS NOT NULL)", name="users_area_by_role"),
    )
    op.create_index("users_area", "users", ["area_id"])

    # The area whose inbox holds the petition: its commune, or its province
    # when it has no commune or was sent up; NULL for the national queue.
    op.add_column("petitions", sa.Column("assigned_area_id", sa.Integer(), sa.ForeignKey("areas.id")))
    op.add_column(
        "petitions",
        sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.add_column("petitions", sa.Column("due_at", sa.DateTime(timezone=True)))
    op.add_column("petitions", sa.Column("merged_into_id", sa.BigInteger(), sa.ForeignKey("petitions.id")))
    op.add_column("petitions", sa.Column("public_title", sa.String(200)))
    op.add_column("petitions", sa.Column("public_body", sa.Text()))
    op.add_column("petitions", sa.Column("filed_by_id", sa.Integer(), sa.ForeignKey("users.id")))
    op.execute("UPDATE petitions SET assigned_area_id = coalesce(commune_id, province_id)")
    op.create_index(
        "petitions_inbox", "petitions", ["assigned_area_id", sa.text("created_at DESC"), sa.text("id DESC")]
    )
    op.create_index("petitions_due", "petitions", ["due_at"], postgresql_where=sa.text("due_at IS NOT NULL"))
    # Diacritics-free text search: an immutable wrapper lets unaccent be indexed.
    op.execute(FOLD_SQL.read_text(encoding="utf-8"))
    op.execute("CREATE INDEX petitions_text ON petitions USING gin (fold(title || ' ' || body) gin_trgm_ops)")

    op.add_column("petition_answers", sa.Column("author_id", sa.Integer(), sa.ForeignKey("users.id")))

    op.create_table(
        "audit_events",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("actor_id", sa.Integer(), sa.ForeignKey("users.id")),
        sa.Column("actor_label", sa.String(64), nullable=False),
        sa.Column("petition_id", sa.BigInteger(), sa.ForeignKey("petitions.id")),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("from_status", sa.String(32)),
        sa.Column("to_status", sa.String(32)),
        sa.Column("note", sa.Text()),
        sa.Column("data", JSONB(), nullable=False, server_default="{}"),
    )
    op.create_index("audit_events_petition", "audit_events", ["petition_id", "id"])
    # Append-only: no code path may change or remove an audit row.
    op.execute(
        """CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
           BEGIN RAISE EXCEPTION 'audit_events is append-only'; END $$"""
    )
    op.execute(
        "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events "
        "FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()"
    )
    op.execute(
        "CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()"
    )

    op.create_table(
        "holidays",
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("name", sa.String(120), nullable=False),
    )
    deadlines = op.create_table(
        "deadline_rules",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("category_code", sa.String(32), sa.ForeignKey("categories.code")),
        sa.Column("working_days", sa.Integer(), nullable=False),
        sa.UniqueConstraint("status", "category_code", name="deadline_rules_status_category"),
    )
    op.bulk_insert(deadlines, [{"status": s, "category_code": c, "working_days": d} for s, c, d in DEADLINES])

    op.create_table(
        "referrals",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("petition_id", sa.BigInteger(), sa.ForeignKey("petitions.id"), nullable=False, index=True),
        sa.Column("agency", sa.String(200), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("created_by_id", sa.Integer(), sa.ForeignKey("users.id")),
        sa.Column("reply", sa.Text()),
        sa.Column("replied_at", sa.DateTime(timezone=True)),
        sa.Column("last_reminded_at", sa.DateTime(timezone=True)),
        sa.Column("no_reply_at", sa.DateTime(timezone=True)),
    )
    op.create_table(
        "notices",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("petition_id", sa.BigInteger(), sa.ForeignKey("petitions.id")),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id")),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("recipient", sa.String(200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )


def downgrade():
    for table in ("notices", "referrals", "deadline_rules", "holidays"):
        op.drop_table(table)
    op.execute("DROP TABLE audit_events")
    op.execute("DROP FUNCTION audit_events_append_only()")
    op.drop_column("petition_answers", "author_id")
    op.execute("DROP INDEX petitions_text")
    op.execute("DROP FUNCTION fold(text)")
    for column in (
        "filed_by_id",
        "public_body",
        "public_title",
        "merged_into_id",
        "due_at",
        "status_changed_at",
        "assigned_area_id",
    ):
        op.drop_column("petitions", column)
    op.drop_table("users")
