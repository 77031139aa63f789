"""The public edge: a public identifier, publication, one scope column, versions, voices, login failures.

- petitions.public_id: the public identifier (Open311's service_request_id);
  the tracking code stays the citizen's secret.
- petitions.publishable (the citizen's choice; "officials' conduct" is
  private by default), accepted_at (an officer accepted it), photos_released.
- petitions.assigned_province_id: the province of the inbox, set by a trigger.
- petitions.version: two officers acting at once — one wins.
- petitions.idempotency_digest: a key seen again with other content is refused.
- petitions.rated_answer_id: one rating per answer round.
- petitions.contact_erased_at: contact details anonymised after the retention period.
- partners.area_id, partners.sees_unpublished: the scope a partner key carries.
- petition_supports: who added a voice (keyed hashes), invalidation; voice_flags.
- login_failures: failed logins per account and client, for back-off.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

SQL = Path(__file__).resolve().parent.parent / "sql" / "0010_public_edge.sql"


def upgrade():
    op.execute(SQL.read_text(encoding="utf-8"))

    op.add_column(
        "petitions",
        sa.Column("public_id", sa.String(16), nullable=False, server_default=sa.text("new_public_id()")),
    )
    op.create_unique_constraint("petitions_public_id", "petitions", ["public_id"])
    op.add_column("petitions", sa.Column("publishable", sa.Boolean(), nullable=False, server_default=sa.true()))
    op.execute("UPDATE petitions SET publishable = false WHERE category_code = 'officials'")
    op.add_column("petitions", sa.Column("accepted_at", sa.DateTime(timezone=True)))
    op.execute(
        "UPDATE petitions SET accepted_at = status_changed_at WHERE status IN ('accepted', 'in_progress', 'resolved')"
    )
    op.add_column("petitions", sa.Column("photos_released", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column("petitions", sa.Column("assigned_province_id", sa.Integer(), sa.ForeignKey("areas.id")))
    op.execute(
        """UPDATE petitions p SET assigned_province_id = CASE WHEN a.level = 'province' THEN a.id ELSE a.parent_id END
           FROM areas a WHERE a.id = p.assigned_area_id"""
    )
    op.execute(
        """CREATE TRIGGER petitions_assigned_province BEFORE INSERT OR UPDATE OF assigned_area_id ON petitions
           FOR EACH ROW EXECUTE FUNCTION set_assigned_province()"""
    )
    # The province's covering index for maps and reports, now on the inbox's province.
    op.execute(
        "CREATE INDEX petitions_province_map2 ON petitions (assigned_province_id, created_at DESC) "
        "INCLUDE (commune_id, village_id, category_code, status, location, due_at, status_changed_at, satisfied)"
    )
    op.execute("DROP INDEX IF EXISTS petitions_province_map")
    op.execute("ALTER INDEX petitions_province_map2 RENAME TO petitions_province_map")
    op.add_column("petitions", sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
    op.add_column("petitions", sa.Column("idempotency_digest", sa.String(64)))
    op.add_column("petitions", sa.Column("rated_answer_id", sa.BigInteger(), sa.ForeignKey("petition_answers.id")))
    op.add_column("petitions", sa.Column("contact_erased_at", sa.DateTime(timezone=True)))
    # Closed petitions whose contact details still wait for anonymisation.
    op.create_index(
        "petitions_contact_retention",
        "petitions",
        ["status_changed_at"],
        postgresql_where=sa.text(
            "contact_erased_at IS NULL AND (contact_name IS NOT NULL OR contact_phone IS NOT NULL)"
        ),
    )

    op.add_column("partners", sa.Column("area_id", sa.Integer(), sa.ForeignKey("areas.id")))
    op.add_column("partners", sa.Column("sees_unpublished", sa.Boolean(), nullable=False, server_default=sa.false()))

    op.create_table(
        "voice_flags",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("petition_id", sa.BigInteger(), sa.ForeignKey("petitions.id"), nullable=False),
        # which kind of burst: one client address, or one network (/24, /48)
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("source_hash", sa.String(64), nullable=False),
        sa.Column("source_label", sa.String(64), nullable=False),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("voices", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="open"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("resolved_by_id", sa.Integer(), sa.ForeignKey("users.id")),
        sa.Column("resolved_at", sa.DateTime(timezone=True)),
    )
    op.create_index("voice_flags_petition", "voice_flags", ["petition_id", "status"])
    op.add_column("petition_supports", sa.Column("device_hash", sa.String(64)))
    op.add_column("petition_supports", sa.Column("client_hash", sa.String(64)))
    op.add_column("petition_supports", sa.Column("network_hash", sa.String(64)))
    op.add_column("petition_supports", sa.Column("invalidated_at", sa.DateTime(timezone=True)))
    op.add_column("petition_supports", sa.Column("flag_id", sa.BigInteger(), sa.ForeignKey("voice_flags.id")))
    op.create_index(
        "petition_supports_device",
        "petition_supports",
        ["petition_id", "device_hash"],
        unique=True,
        postgresql_where=sa.text("device_hash IS NOT NULL"),
    )
    op.create_index("petition_supports_client", "petition_supports", ["petition_id", "client_hash", "created_at"])
    op.create_index("petition_supports_network", "petition_supports", ["petition_id", "network_hash", "created_at"])

    op.create_table(
        "login_failures",
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), primary_key=True),
        sa.Column("client_hash", sa.String(64), primary_key=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failed_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade():
    op.drop_table("login_failures")
    for index in ("petition_supports_network", "petition_supports_client", "petition_supports_device"):
        op.drop_index(index, "petition_supports")
    for column in ("flag_id", "invalidated_at", "network_hash", "client_hash", "device_hash"):
        op.drop_column("petition_supports", column)
    op.drop_table("voice_flags")
    op.drop_column("partners", "sees_unpublished")
    op.drop_column("partners", "area_id")
    op.drop_index("petitions_contact_retention", "petitions")
    op.execute(
        "CREATE INDEX petitions_province_map2 ON petitions (province_id, created_at DESC) "
        "INCLUDE (commune_id, village_id, category_code, status, location, due_at, status_changed_at, satisfied)"
    )
    op.execute("DROP INDEX petitions_province_map")
    op.execute("ALTER INDEX petitions_province_map2 RENAME TO petitions_province_map")
    op.execute("DROP TRIGGER petitions_assigned_province ON petitions")
    for column in (
        "contact_erased_at",
        "rated_answer_id",
        "idempotency_digest",
        "version",
        "assigned_province_id",
        "photos_released",
        "accepted_at",
        "publishable",
        "public_id",
    ):
        op.drop_column("petitions", column)
    op.execute("DROP FUNCTION set_assigned_province()")
    op.execute("DROP FUNCTION new_public_id()")
