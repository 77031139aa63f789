"""Flagged bursts of voices, judged by officers: list, preview, invalidate or keep.

Scope follows the petitions (app/services/scope.py): an officer sees the
flags of the petitions they see. Provincial and central staff decide; a
commune officer of the petition's inbox may look but not decide, since a
burst is often the commune's own residents and the province is the one told.
Invalidating marks exactly the voices previewed, takes that many off the
petition's supporters in one statement, and writes one audit row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select, text

from app.extensions import db
from app.models import Petition, PetitionSupport, User, VoiceFlag
from app.services import scope, workflow

DECIDING_ROLES = ("province", "central")


class BatchChanged(Exception):
    """The batch is not what the officer previewed (more voices came in, or someone decided it)."""


@dataclass(frozen=True)
class Preview:
    flag: VoiceFlag
    petition: Petition
    voices: int  # still counted, in the batch
    first_at: datetime | None
    last_at: datetime | None
    upto: int  # the newest voice of the batch: what the officer saw
    supporters_before: int
    supporters_after: int


def may_decide(user: User) -> bool:
    return user.role in DECIDING_ROLES


def _visible(user: User):
    return select(VoiceFlag).where(
        VoiceFlag.petition_id.in_(scope.petitions_visible_to(user).with_only_columns(Petition.id))
    )


def open_flags(user: User, limit: int = 200) -> list[tuple[VoiceFlag, Petition]]:
    """The open flags of the petitions this officer sees, the latest burst first."""
    query = (
        _visible(user)
        .where(VoiceFlag.status == "open")
        .join(Petition, Petition.id == VoiceFlag.petition_id)
        .add_columns(Petition)
        .order_by(VoiceFlag.last_at.desc())
        .limit(limit)
    )
    return [(flag, petition) for flag, petition in db.session.execute(query)]


def flag_for(user: User, flag_id: int) -> VoiceFlag | None:
    """The flag if this officer sees its petition, else None."""
    return db.session.scalar(_visible(user).where(VoiceFlag.id == flag_id))


def _batch(flag: VoiceFlag):
    """The flag's voices still counted, found through the index of its source (client or network)."""
    column = PetitionSupport.client_hash if flag.kind == "client" else PetitionSupport.network_hash
    return (
        PetitionSupport.petition_id == flag.petition_id,
        column == flag.source_hash,
        PetitionSupport.flag_id == flag.id,
        PetitionSupport.invalidated_at.is_(None),
    )


def preview(flag: VoiceFlag) -> Preview:
    """What invalidating would do, changing nothing."""
    voices, first_at, last_at, upto = db.session.execute(
        select(
            func.count(),
            func.min(PetitionSupport.created_at),
            func.max(PetitionSupport.created_at),
            func.coalesce(func.max(PetitionSupport.id), 0),
        ).where(*_batch(flag))
    ).one()
    petition = db.session.get(Petition, flag.petition_id, populate_existing=True)  # supporters as they are now
    return Preview(flag, petition, voices, first_at, last_at, upto, petition.supporters, petition.supporters - voices)


def invalidate(flag: VoiceFlag, user: User, *, voices: int, upto: int) -> int:
    """Stop counting the batch the officer previewed (voices, newest id upto); return how many."""
    # The petition first, then the flag: the order a voice takes them, so the two never wait on each other.
    db.session.execute(text("SELECT 1 FROM petitions WHERE id = :p FOR NO KEY UPDATE"), {"p": flag.petition_id})
    db.session.refresh(flag, with_for_update=True)
    seen = preview(flag)
    if flag.status != "open" or (seen.voices, seen.upto) != (voices, upto):
        db.session.rollback()
        raise BatchChanged
    now = datetime.now(UTC)
    column = "client_hash" if flag.kind == "client" else "network_hash"
    invalidated = db.session.execute(
        text(
            f"""UPDATE petition_supports SET invalidated_at = :now
                WHERE petition_id = :p AND {column} = :h AND flag_id = :f AND invalidated_at IS NULL AND id <= :upto"""
        ),
        {"now": now, "p": flag.petition_id, "h": flag.source_hash, "f": flag.id, "upto": upto},
    ).rowcount
    after = db.session.execute(
        text("UPDATE petitions SET supporters = supporters - :n WHERE id = :p RETURNING supporters"),
        {"n": invalidated, "p": flag.petition_id},
    ).scalar()
    _resolve(flag, user, "invalidated", now)
    workflow.record(
        seen.petition,
        user,
        "voices_invalidated",
        data={
            "flag": flag.id,
            "kind": flag.kind,
            "source": flag.source_label,
            "voices": invalidated,
            "first_at": seen.first_at.isoformat() if seen.first_at else None,
            "last_at": seen.last_at.isoformat() if seen.last_at else None,
            "supporters_before": after + invalidated,
            "supporters_after": after,
        },
    )
    db.session.commit()
    return invalidated


def dismiss(flag: VoiceFlag, user: User) -> None:
    """Keep the batch's voices: the burst was genuine (a meeting, a shared network)."""
    db.session.refresh(flag, with_for_update=True)
    if flag.status != "open":
        db.session.rollback()
        raise BatchChanged
    seen = preview(flag)
    _resolve(flag, user, "dismissed", datetime.now(UTC))
    workflow.record(
        seen.petition,
        user,
        "voices_kept",
        data={"flag": flag.id, "kind": flag.kind, "source": flag.source_label, "voices": seen.voices},
    )
    db.session.commit()


def _resolve(flag: VoiceFlag, user: User, status: str, now: datetime) -> None:
    flag.status, flag.resolved_by_id, flag.resolved_at = status, user.id, now
