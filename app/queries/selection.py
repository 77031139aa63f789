"""Which petitions a map, report or export counts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.models.petition import published_sql


@dataclass(frozen=True)
class Selection:
    """Which petitions a map or report counts; the inbox columns narrow to a scope (app/services/scope.py)."""

    assigned_province_id: int | None = None
    assigned_area_id: int | None = None
    province_id: int | None = None  # where the petition is (the public's counts), not whose inbox holds it
    category: str = ""
    status: str = ""
    since: datetime | None = None
    until: datetime | None = None
    published_only: bool = False  # the public's aggregates count only what it may read

    def where(self, alias: str = "p") -> tuple[str, dict]:
        clauses, params = ["TRUE"], {}
        if self.published_only:
            clauses.append(published_sql(alias))
        for column, value in (
            ("assigned_province_id", self.assigned_province_id),
            ("assigned_area_id", self.assigned_area_id),
            ("province_id", self.province_id),
            ("category_code", self.category or None),
            ("status", self.status or None),
        ):
            if value is not None:
                clauses.append(f"{alias}.{column} = :{column}")
                params[column] = value
        if self.since:
            clauses.append(f"{alias}.created_at >= :since")
            params["since"] = self.since
        if self.until:
            clauses.append(f"{alias}.created_at < :until")
            params["until"] = self.until
        return " AND ".join(clauses), params
