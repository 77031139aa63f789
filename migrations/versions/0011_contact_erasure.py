"""Contact details anonymised after the retention period: what the schema must allow, and find fast.

- petitions_contact: a petition that was not anonymous kept a phone; once its
  contact is erased (contact_erased_at) it keeps none. The weaker check is
  added NOT VALID and validated apart, so the table is not locked while every
  row is read.
- notices_petition: notices found by petition — "already sent?" before each
  citizen's notice, and a petition's notices when its contact is erased —
  had no index: a scan of every notice ever sent (officers' reminders among
  them) per question.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade():
    op.execute(
        "ALTER TABLE petitions ADD CONSTRAINT petitions_contact_kept "
        "CHECK (is_anonymous OR contact_phone IS NOT NULL OR contact_erased_at IS NOT NULL) NOT VALID"
    )
    op.execute("ALTER TABLE petitions VALIDATE CONSTRAINT petitions_contact_kept")
    op.execute("ALTER TABLE petitions DROP CONSTRAINT petitions_contact")
    op.execute("ALTER TABLE petitions RENAME CONSTRAINT petitions_contact_kept TO petitions_contact")
    op.execute("CREATE INDEX IF NOT EXISTS notices_petition ON notices (petition_id, kind)")


def downgrade():
    op.execute("DROP INDEX notices_petition")
    # Erased petitions would break the old check: they count as anonymous from here on.
    op.execute("UPDATE petitions SET is_anonymous = true WHERE contact_erased_at IS NOT NULL AND contact_phone IS NULL")
    op.execute("ALTER TABLE petitions DROP CONSTRAINT petitions_contact")
    op.execute(
        "ALTER TABLE petitions ADD CONSTRAINT petitions_contact CHECK (is_anonymous OR contact_phone IS NOT NULL)"
    )
