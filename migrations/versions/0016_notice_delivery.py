"""Notices are delivered (e-mail, SMS, Zalo) and keep how that went; a citizen may leave an e-mail address.

A notice to a citizen is now a row per channel waiting for its delivery job:
status pending → sent | failed (refused for good, with the reason) |
gave_up (the channel stayed away through every retry); the text kept no
longer holds the tracking code, in the rows written before either. Officers' notices
shown in the portal, and those written before notices were delivered, are
"recorded": kept, never sent. The failures page reads the partial index of
the notices that went wrong.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


KEPT = "contact_erased_at IS NULL AND (contact_name IS NOT NULL OR contact_phone IS NOT NULL{})"


def upgrade():
    op.add_column("petitions", sa.Column("contact_email", sa.String(254)))
    # The retention sweep walks petitions whose contact is kept: an e-mail address alone counts too.
    op.drop_index("petitions_contact_retention", "petitions")
    op.create_index(
        "petitions_contact_retention",
        "petitions",
        ["status_changed_at"],
        postgresql_where=sa.text(KEPT.format(" OR contact_email IS NOT NULL")),
    )
    op.alter_column("notices", "sent_at", new_column_name="created_at")  # when it was written, not sent
    # A citizen who is not anonymous left a way to reach him: a phone, or (mail to the intake address) an e-mail.
    op.execute("ALTER TABLE petitions DROP CONSTRAINT petitions_contact")
    op.execute(
        "ALTER TABLE petitions ADD CONSTRAINT petitions_contact CHECK "
        "(is_anonymous OR contact_phone IS NOT NULL OR contact_email IS NOT NULL OR contact_erased_at IS NOT NULL)"
    )
    op.add_column("notices", sa.Column("status", sa.String(16), nullable=False, server_default="recorded"))
    op.alter_column("notices", "status", server_default="pending")
    op.add_column("notices", sa.Column("subject", sa.String(200)))
    op.add_column("notices", sa.Column("attempts", sa.SmallInteger(), nullable=False, server_default="0"))
    op.add_column("notices", sa.Column("last_error", sa.Text()))
    op.add_column("notices", sa.Column("last_attempt_at", sa.DateTime(timezone=True)))
    op.add_column("notices", sa.Column("delivered_at", sa.DateTime(timezone=True)))
    op.add_column("notices", sa.Column("provider_id", sa.String(100)))
    # Citizens' notices written before kept the tracking code in their text (K7M-4QX-9PT): masked.
    op.execute(
        """UPDATE notices SET body = regexp_replace(body, '[2-9A-Z]{3}-[2-9A-Z]{3}-[2-9A-Z]{3}', '•••-•••-•••', 'g')
           WHERE user_id IS NULL"""
    )
    op.create_check_constraint(
        "notices_status", "notices", "status IN ('pending', 'sent', 'failed', 'gave_up', 'recorded')"
    )
    op.execute("CREATE INDEX notices_failed ON notices (created_at DESC) WHERE status IN ('failed', 'gave_up')")


def downgrade():
    op.execute("DROP INDEX notices_failed")
    op.drop_constraint("notices_status", "notices")
    for column in ("provider_id", "delivered_at", "last_attempt_at", "last_error", "attempts", "subject", "status"):
        op.drop_column("notices", column)
    op.alter_column("notices", "created_at", new_column_name="sent_at")
    op.execute("ALTER TABLE petitions DROP CONSTRAINT petitions_contact")
    op.execute(
        "ALTER TABLE petitions ADD CONSTRAINT petitions_contact CHECK "
        "(is_anonymous OR contact_phone IS NOT NULL OR contact_erased_at IS NOT NULL)"
    )
    op.drop_index("petitions_contact_retention", "petitions")
    op.create_index(
        "petitions_contact_retention", "petitions", ["status_changed_at"], postgresql_where=sa.text(KEPT.format(""))
    )
    op.drop_column("petitions", "contact_email")
