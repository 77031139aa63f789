"""Personal data over time: a closed petition's contact details are anonymised after the retention period.

Closed means a status outside OPEN_STATUSES (resolved, rejected, merged), for
CONTACT_RETENTION_MONTHS since petitions.status_changed_at; a petition the
citizen reopened is open again and keeps its contact. The name and phone are
erased from the petition and the phone from its citizen's notices; the text,
place, status, counts and ratings stay. The audit trail keeps who viewed the
contact before (its rows are never rewritten) and gains one "contact_erased"
row per petition. Safe to run twice: an erased petition is not chosen again.
"""

from __future__ import annotations

import time

from flask import current_app
from sqlalchemy import ARRAY, BigInteger, Select, any_, bindparam, func, or_, select, update

from app.extensions import db
from app.models import Notice, Petition
from app.models.petition import OPEN_STATUSES
from app.services import workflow

BATCH = 5000
# One job's share of a backlog; what is left waits for the next day's run.
BUDGET_S = 120.0
# What a citizen's notice keeps as its recipient once the phone is erased.
ERASED = ""


def retention_months() -> int:
    return current_app.config["CONTACT_RETENTION_MONTHS"]


def _due(months: int, column=Petition.id) -> Select:
    # The first two conditions are the predicate of the partial index
    # petitions_contact_retention (on status_changed_at), written the same way
    # so the planner walks that index instead of the whole table.
    return select(column).where(
        Petition.contact_erased_at.is_(None),
        or_(
            Petition.contact_name.is_not(None), Petition.contact_phone.is_not(None), Petition.contact_email.is_not(None)
        ),
        Petition.status_changed_at < func.now() - func.make_interval(0, months),
        Petition.status.not_in(OPEN_STATUSES),
    )


def due_count(months: int | None = None) -> int:
    """How many closed petitions are past the retention period with their contact still kept."""
    months = retention_months() if months is None else months
    return db.session.scalar(_due(months, func.count()))


def anonymise_batch(months: int | None = None, batch: int = BATCH) -> int:
    """Erase the contact details of one batch of petitions past the retention period; return how many."""
    months = retention_months() if months is None else months
    # Materialized: a LIMIT in an IN (subquery) may be evaluated more than once by the planner.
    chosen = (
        _due(months)
        .order_by(Petition.status_changed_at)
        .limit(batch)
        .with_for_update(skip_locked=True)  # one an officer is changing right now waits for the next run
        .cte("chosen")
        .prefix_with("MATERIALIZED")
    )
    # One statement, not the UPDATE per row (5,000 round trips) that the ORM's
    # version check would issue; the version is bumped all the same.
    erased = db.session.execute(
        update(Petition)
        .where(Petition.id.in_(select(chosen.c.id)))
        .values(
            contact_name=None,
            contact_phone=None,
            contact_email=None,
            contact_erased_at=func.now(),
            version=Petition.version + 1,
        )
        .returning(Petition.id, Petition.status, Petition.status_changed_at),
        execution_options={"synchronize_session": "fetch"},
    ).all()
    for petition in erased:  # record() needs only the petition's id
        workflow.record(
            petition,
            None,
            "contact_erased",
            data={
                "status": petition.status,
                "closed_at": petition.status_changed_at.isoformat(),
                "retention_months": months,
            },
        )
    if erased:
        # The citizen's notices (to the phone or the e-mail address); officers' notices name the officer and stay.
        db.session.execute(
            update(Notice)
            .where(
                Notice.petition_id == any_(bindparam("ids", [p.id for p in erased], type_=ARRAY(BigInteger))),
                Notice.user_id.is_(None),
            )
            .values(recipient=ERASED, last_error=None)  # a server's reason may quote the address
        )
    db.session.flush()
    return len(erased)


def anonymise_backlog(months: int | None = None, budget_s: float | None = BUDGET_S, batch: int = BATCH) -> int:
    """Anonymise batch after batch, committing each, until none is due or the time budget is spent."""
    started, total = time.monotonic(), 0
    while True:
        done = anonymise_batch(months, batch)
        db.session.commit()
        total += done
        if done < batch or (budget_s is not None and time.monotonic() - started >= budget_s):
            return total
