"""Citizens' voices behind a published petition: one per device, bursts flagged to the province.

An address is not a person: Vietnamese mobile networks put thousands of
phones behind one carrier-grade NAT address. So a voice counts once per
device — a long-lived random voter cookie — and addresses only serve to see
bursts: more than VOICE_BURST_CLIENT voices on one petition from one client
address, or VOICE_BURST_NETWORK from one network (IPv4 /24, IPv6 /48), within
VOICE_BURST_MINUTES open a flag (once; later voices from that source join
it) and tell the province's officers, who invalidate the batch or keep it
(app/services/voice_flags.py). Only keyed hashes (HMAC-SHA256 with
SECRET_KEY) of the cookie, the address and the network are stored; a flag's
label names the network ("113.160.12.x"), never a whole address.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import select, text

from app.clients import client_key
from app.extensions import db
from app.models import Petition, PetitionSupport, User
from app.models.petition import OPEN_STATUSES, PUBLISHED_STATUSES
from app.services import notices, publication, workflow
from app.services.petitions import PUBLIC_ID

DEVICE_TOKEN = re.compile(r"[A-Za-z0-9_-]{32,64}")


class NotPublished(Exception):
    """Only a published petition takes voices (anything else is not found)."""


class Closed(Exception):
    """A published petition that is no longer open takes no more voices."""


class KeyReused(Exception):
    """The idempotency key already carried a voice for another petition."""


@dataclass(frozen=True)
class Voice:
    supporters: int
    outcome: str  # counted | repeat (the same click again, counted once) | already (this device's voice is in)

    @property
    def already(self) -> bool:
        return self.outcome == "already"


@dataclass(frozen=True)
class Target:
    """What a voice needs of its petition: whether the public may see it and whether it is open."""

    id: int
    status: str
    accepted_at: datetime | None
    publishable: bool

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


# A viral petition takes hundreds of voices a second: its few columns, not the whole row as an ORM object.
_TARGET = "SELECT id, status, accepted_at, publishable FROM petitions WHERE public_id = %(public_id)s"


def target(public_id: str) -> Target | None:
    """The petition a voice names by its public identifier (None when there is none)."""
    if not PUBLIC_ID.fullmatch(public_id or ""):
        return None
    row = db.session.connection().exec_driver_sql(_TARGET, {"public_id": public_id}).one_or_none()
    return None if row is None else Target(*row)


@dataclass(frozen=True)
class Source:
    """Who a voice came from, as keyed hashes, and the network's label for officers."""

    device_hash: str
    client_hash: str
    network_hash: str
    network_label: str


def new_device_token() -> str:
    return secrets.token_urlsafe(32)


def valid_device_token(token: str | None) -> bool:
    return bool(token) and DEVICE_TOKEN.fullmatch(token) is not None


def _keyed(purpose: str, value: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()


def network_of(address: str | None) -> tuple[str, str]:
    """(network, label) of a client address: its IPv4 /24 ("113.160.12.x") or IPv6 /48."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return "unknown", "?"
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if ip.version == 4:
        network = ipaddress.ip_network(f"{ip}/24", strict=False)
        return str(network), str(network.network_address).rsplit(".", 1)[0] + ".x"
    network = ipaddress.ip_network(f"{ip}/48", strict=False)
    return str(network), str(network)


def source_of(device_token: str, address: str | None) -> Source:
    network, label = network_of(address)
    return Source(
        _keyed("voice-device", device_token),
        _keyed("voice-client", client_key(address or "")),  # an IPv6 host counts as its /64
        _keyed("voice-network", network),
        label,
    )


# The voice and the count in one round trip. The petition's row lock, held to
# the commit, also makes the burst check after it one at a time per petition.
# The petition is locked and checked again in the statement itself: one merged, closed or withdrawn from
# the public since it was read takes no voice.
_TAKES_VOICES = ", ".join(f"'{s}'" for s in OPEN_STATUSES if s in PUBLISHED_STATUSES)
_COUNT = f"""WITH target AS (
              SELECT id FROM petitions
              WHERE id = %(p)s AND accepted_at IS NOT NULL AND publishable AND status IN ({_TAKES_VOICES})
              FOR UPDATE),
            voice AS (
              INSERT INTO petition_supports (petition_id, idempotency_key, device_hash, client_hash, network_hash)
              SELECT id, %(k)s, %(d)s, %(c)s, %(n)s FROM target ON CONFLICT DO NOTHING RETURNING id)
            UPDATE petitions SET supporters = supporters + 1 FROM voice WHERE petitions.id = %(p)s
            RETURNING voice.id, petitions.supporters, petitions.assigned_province_id"""


def add(petition: Petition | Target, idempotency_key: str, source: Source) -> Voice:
    """Count one more citizen behind a published, open petition: once per device, once per key."""
    if not publication.is_published(petition):
        raise NotPublished
    if not petition.is_open:
        raise Closed
    counted = (
        db.session.connection()
        .exec_driver_sql(
            _COUNT,
            {
                "p": petition.id,
                "k": idempotency_key,
                "d": source.device_hash,
                "c": source.client_hash,
                "n": source.network_hash,
            },
        )
        .one_or_none()
    )
    if counted is None:
        if not _still_takes_voices(petition.id):
            db.session.rollback()
            raise Closed  # merged, closed or withdrawn meanwhile
        return _not_added(petition, idempotency_key)
    voice_id, supporters, province_id = counted
    _watch_bursts(petition, province_id, voice_id, source)
    db.session.commit()
    return Voice(supporters, "counted")


def _still_takes_voices(petition_id: int) -> bool:
    found = db.session.connection().exec_driver_sql(
        f"""SELECT 1 FROM petitions WHERE id = %(p)s AND accepted_at IS NOT NULL AND publishable
              AND status IN ({_TAKES_VOICES})""",
        {"p": petition_id},
    )
    return found.first() is not None


def _not_added(petition: Petition | Target, idempotency_key: str) -> Voice:
    same_key = db.session.scalar(
        select(PetitionSupport.petition_id).where(PetitionSupport.idempotency_key == idempotency_key)
    )
    if same_key is not None and same_key != petition.id:
        db.session.rollback()
        raise KeyReused
    supporters = db.session.scalar(select(Petition.supporters).where(Petition.id == petition.id))
    db.session.commit()
    return Voice(supporters, "repeat" if same_key is not None else "already")


# One bounded index scan per voice: the newest not-yet-judged voices of the
# petition from the voice's network (petition_supports_network), enough of
# them to tell whether either threshold is passed, and the open flags of
# this client and network. Voices invalidated, or kept by a dismissed flag,
# are judged and no longer count.
_BURST_CHECK = (  # with the driver's parameters: sent as it is, nothing compiled per voice
    """WITH open_flags AS (
         SELECT id, kind, source_hash FROM voice_flags WHERE petition_id = %(p)s AND status = 'open'
       ), recent AS (
         SELECT s.client_hash FROM petition_supports s
         WHERE s.petition_id = %(p)s AND s.network_hash = %(n)s AND s.created_at > %(since)s
           AND s.invalidated_at IS NULL
           AND (s.flag_id IS NULL OR s.flag_id IN (SELECT id FROM open_flags))
         ORDER BY s.created_at DESC LIMIT %(cap)s
       )
       SELECT (SELECT count(*) FROM recent WHERE client_hash = %(c)s) AS client,
              (SELECT count(*) FROM recent) AS network,
              (SELECT id FROM open_flags WHERE kind = 'client' AND source_hash = %(c)s) AS client_flag,
              (SELECT id FROM open_flags WHERE kind = 'network' AND source_hash = %(n)s) AS network_flag"""
)


def _watch_bursts(petition: Petition | Target, province_id: int | None, voice_id: int, source: Source) -> None:
    config = current_app.config
    client_max, network_max = config["VOICE_BURST_CLIENT"], config["VOICE_BURST_NETWORK"]
    since = datetime.now(UTC) - timedelta(minutes=config["VOICE_BURST_MINUTES"])
    seen = (
        db.session.connection()
        .exec_driver_sql(
            _BURST_CHECK,
            {
                "p": petition.id,
                "n": source.network_hash,
                "c": source.client_hash,
                "since": since,
                "cap": max(client_max, network_max) + 1,
            },
        )
        .one()
    )
    # The more precise source wins: a voice joins its client's flag before its network's.
    if seen.client_flag and _join(seen.client_flag, voice_id):
        return
    if seen.client > client_max:
        _open(petition, province_id, "client", source.client_hash, source, since, steal_from=seen.network_flag)
    elif seen.network_flag and _join(seen.network_flag, voice_id):
        return
    elif seen.network > network_max:
        _open(petition, province_id, "network", source.network_hash, source, since)


def _join(flag_id: int, voice_id: int) -> bool:
    """Add the voice to an open flag; False when an officer resolved it meanwhile."""
    joined = db.session.execute(
        text(
            """UPDATE voice_flags SET voices = voices + 1, last_at = now()
               WHERE id = :f AND status = 'open' RETURNING id"""
        ),
        {"f": flag_id},
    ).scalar()
    if joined:
        db.session.execute(
            text("UPDATE petition_supports SET flag_id = :f WHERE id = :v"), {"f": flag_id, "v": voice_id}
        )
    return joined is not None


def _open(target, province_id, kind: str, source_hash: str, source: Source, since, steal_from=None) -> None:
    """Open a flag over the source's voices of the window and tell the province's officers."""
    petition = db.session.get(Petition, target.id)  # the whole petition, for its audit row and the officers' notice
    column = "client_hash" if kind == "client" else "network_hash"
    flag_id = db.session.execute(
        text(
            """INSERT INTO voice_flags (petition_id, kind, source_hash, source_label, first_at, last_at, voices)
               VALUES (:p, :kind, :h, :label, now(), now(), 0) RETURNING id"""
        ),
        {"p": petition.id, "kind": kind, "h": source_hash, "label": source.network_label},
    ).scalar()
    # The window's voices of this source not yet in a flag — or, for a client, in its network's open flag.
    voices, first_at = db.session.execute(
        text(
            f"""WITH taken AS (
                  UPDATE petition_supports s SET flag_id = :f
                  WHERE s.petition_id = :p AND s.{column} = :h AND s.created_at > :since
                    AND s.invalidated_at IS NULL AND (s.flag_id IS NULL OR s.flag_id = :steal)
                  RETURNING s.created_at
                ), counted AS (SELECT count(*) AS voices, min(created_at) AS first_at FROM taken)
                UPDATE voice_flags f SET voices = c.voices, first_at = coalesce(c.first_at, f.first_at)
                FROM counted c WHERE f.id = :f RETURNING f.voices, f.first_at"""
        ),
        {"f": flag_id, "p": petition.id, "h": source_hash, "since": since, "steal": steal_from or 0},
    ).one()
    if steal_from:
        db.session.execute(
            text(
                """UPDATE voice_flags SET voices = (SELECT count(*) FROM petition_supports
                     WHERE petition_id = :p AND network_hash = :n AND flag_id = :f) WHERE id = :f"""
            ),
            {"p": petition.id, "n": source.network_hash, "f": steal_from},
        )
    minutes = current_app.config["VOICE_BURST_MINUTES"]
    data = {"flag": flag_id, "kind": kind, "source": source.network_label, "voices": voices}
    workflow.record(petition, None, "voices_flagged", data={**data, "first_at": first_at.isoformat()})
    officers = db.session.scalars(
        select(User).where(User.role == "province", User.area_id == province_id, User.active)
    ).all()
    where = "một địa chỉ trong mạng" if kind == "client" else "mạng"
    body = (
        f"Kiến nghị {petition.reference}: {voices} ý kiến ủng hộ trong {minutes} phút từ {where} "
        f"{source.network_label}. Xem và xử lý tại /officer/voices/{flag_id}"
    )
    notices.notify_officers(petition, list(officers), f"voice_flag:{flag_id}", body)
