"""Vietnam's public holidays 2025-2030, the seed of the editable holidays table.

A copy of app.services.workdays.HOLIDAYS as it was when this revision was
written (a migration must not import app code). Substitute days off (nghỉ bù)
and swapped working days are announced each year and added to the table by hand.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from datetime import date

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# Labour Code 2019, Art. 112: Tết Dương lịch; Tết Nguyên đán (the last day of the
# lunar year and the first 4 of the new one); Giỗ Tổ Hùng Vương (10/3 lunar);
# 30 April; 1 May; Quốc khánh (2 September and the day before).
HOLIDAYS = [
    ("2025-01-01", "Tết Dương lịch"),
    ("2025-01-28", "Tết Nguyên đán (ngày cuối năm Âm lịch)"),
    ("2025-01-29", "Tết Nguyên đán (mùng 1)"),
    ("2025-01-30", "Tết Nguyên đán (mùng 2)"),
    ("2025-01-31", "Tết Nguyên đán (mùng 3)"),
    ("2025-02-01", "Tết Nguyên đán (mùng 4)"),
    ("2025-04-07", "Giỗ Tổ Hùng Vương (10/3 Âm lịch)"),
    ("2025-04-30", "Ngày Giải phóng miền Nam, thống nhất đất nước"),
    ("2025-05-01", "Ngày Quốc tế Lao động"),
    ("2025-09-01", "Quốc khánh (ngày liền kề)"),
    ("2025-09-02", "Quốc khánh"),
    ("2026-01-01", "Tết Dương lịch"),
    ("2026-02-16", "Tết Nguyên đán (ngày cuối năm Âm lịch)"),
    ("2026-02-17", "Tết Nguyên đán (mùng 1)"),
    ("2026-02-18", "Tết Nguyên đán (mùng 2)"),
    ("2026-02-19", "Tết Nguyên đán (mùng 3)"),
    ("2026-02-20", "Tết Nguyên đán (mùng 4)"),
    ("2026-04-26", "Giỗ Tổ Hùng Vương (10/3 Âm lịch)"),
    ("2026-04-30", "Ngày Giải phóng miền Nam, thống nhất đất nước"),
    ("2026-05-01", "Ngày Quốc tế Lao động"),
    ("2026-09-01", "Quốc khánh (ngày liền kề)"),
    ("2026-09-02", "Quốc khánh"),
    ("2027-01-01", "Tết Dương lịch"),
    ("2027-02-05", "Tết Nguyên đán (ngày cuối năm Âm lịch)"),
    ("2027-02-06", "Tết Nguyên đán (mùng 1)"),
    ("2027-02-07", "Tết Nguyên đán (mùng 2)"),
    ("2027-02-08", "Tết Nguyên đán (mùng 3)"),
    ("2027-02-09", "Tết Nguyên đán (mùng 4)"),
    ("2027-04-16", "Giỗ Tổ Hùng Vương (10/3 Âm lịch)"),
    ("2027-04-30", "Ngày Giải phóng miền Nam, thống nhất đất nước"),
    ("2027-05-01", "Ngày Quốc tế Lao động"),
    ("2027-09-01", "Quốc khánh (ngày liền kề)"),
    ("2027-09-02", "Quốc khánh"),
    ("2028-01-01", "Tết Dương lịch"),
    ("2028-01-25", "Tết Nguyên đán (ngày cuối năm Âm lịch)"),
    ("2028-01-26", "Tết Nguyên đán (mùng 1)"),
    ("2028-01-27", "Tết Nguyên đán (mùng 2)"),
    ("2028-01-28", "Tết Nguyên đán (mùng 3)"),
    ("2028-01-29", "Tết Nguyên đán (mùng 4)"),
    ("2028-04-04", "Giỗ Tổ Hùng Vương (10/3 Âm lịch)"),
    ("2028-04-30", "Ngày Giải phóng miền Nam, thống nhất đất nước"),
    ("2028-05-01", "Ngày Quốc tế Lao động"),
    ("2028-09-01", "Quốc khánh (ngày liền kề)"),
    ("2028-09-02", "Quốc khánh"),
    ("2029-01-01", "Tết Dương lịch"),
    ("2029-02-12", "Tết Nguyên đán (ngày cuối năm Âm lịch)"),
    ("2029-02-13", "Tết Nguyên đán (mùng 1)"),
    ("2029-02-14", "Tết Nguyên đán (mùng 2)"),
    ("2029-02-15", "Tết Nguyên đán (mùng 3)"),
    ("2029-02-16", "Tết Nguyên đán (mùng 4)"),
    ("2029-04-23", "Giỗ Tổ Hùng Vương (10/3 Âm lịch)"),
    ("2029-04-30", "Ngày Giải phóng miền Nam, thống nhất đất nước"),
    ("2029-05-01", "Ngày Quốc tế Lao động"),
    ("2029-09-01", "Quốc khánh (ngày liền kề)"),
    ("2029-09-02", "Quốc khánh"),
    ("2030-01-01", "Tết Dương lịch"),
    ("2030-02-01", "Tết Nguyên đán (ngày cuối năm Âm lịch)"),
    ("2030-02-02", "Tết Nguyên đán (mùng 1)"),
    ("2030-02-03", "Tết Nguyên đán (mùng 2)"),
    ("2030-02-04", "Tết Nguyên đán (mùng 3)"),
    ("2030-02-05", "Tết Nguyên đán (mùng 4)"),
    ("2030-04-12", "Giỗ Tổ Hùng Vương (10/3 Âm lịch)"),
    ("2030-04-30", "Ngày Giải phóng miền Nam, thống nhất đất nước"),
    ("2030-05-01", "Ngày Quốc tế Lao động"),
    ("2030-09-01", "Quốc khánh (ngày liền kề)"),
    ("2030-09-02", "Quốc khánh"),
]

holidays = sa.table("holidays", sa.column("day", sa.Date()), sa.column("name", sa.String(120)))


def upgrade():
    op.bulk_insert(holidays, [{"day": date.fromisoformat(day), "name": name} for day, name in HOLIDAYS])


def downgrade():
    op.execute(holidays.delete().where(holidays.c.day.in_([date.fromisoformat(day) for day, _ in HOLIDAYS])))
