"""What a notice says, on each channel, rendered when it is sent: a citizen's (receipt, answer), an
agency's (a referral, its reminder), an area alert's (confirmation, new petition, digest).

The tracking code is the citizen's secret: it is in what is sent to the
citizen's own address, never in the notices table, whose body keeps the text
with the code masked. The receipt carries none of the citizen's own text:
the address is not verified, and the Front's mail must not carry a
stranger's words to whoever he names. E-mail is HTML and plain text in Vietnamese; SMS is
without diacritics (one 160-character part); Zalo fills an approved template.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from flask import current_app, render_template

from app.extensions import db
from app.i18n import VIETNAM_TIME
from app.models import Notice, Petition
from app.senders import Message

MASK = "•••-•••-•••"

# The code is in the text only: a subject shows in previews and in mail servers' logs.
SUBJECTS = {
    "received": "Mặt trận Tổ quốc Việt Nam đã nhận kiến nghị của bạn",
    "answered": "Kiến nghị của bạn đã có trả lời",
}
SMS = {
    "received": "MTTQ VN: da nhan kien nghi cua ban. Ma theo doi {code}. Xem tai {url}",
    "answered": "MTTQ VN: kien nghi {code} da co tra loi. Xem tai {url}",
}


@dataclass(frozen=True)
class Content:
    subject: str
    text: str
    html: str
    fields: dict


def base_kind(kind: str) -> str:
    """The kind of text: "answered:42" (the answer of that round) is an "answered" notice."""
    return kind.partition(":")[0]


# Notices about no one petition: an alert's confirmation, a daily digest of several.
ABOUT_NO_PETITION = ("alert_confirm", "alert_digest")


def render(notice: Notice, petition: Petition | None, *, secret: bool = True) -> Message:
    """The message of this notice; with secret=False, as the notices table keeps it (the code masked)."""
    kind, _, about = notice.kind.partition(":")  # "answered:42": the answer of that round
    if kind in ("alert", *ABOUT_NO_PETITION):
        content = _alert(notice, petition)
    elif kind in ("referral", "referral_reminder"):
        content = _referral(int(about), reminder=kind == "referral_reminder")
    else:
        code = petition.display_code if secret else MASK
        content = _content(kind, notice.channel, petition, code, int(about) if about.isdigit() else None)
    return Message(
        recipient=notice.recipient,
        subject=content.subject,
        text=content.text,
        html=content.html,
        reference=f"notice-{notice.id}" if notice.id else "",
        template=base_kind(notice.kind),
        fields=content.fields,
    )


def _content(kind: str, channel: str, petition: Petition, code: str, answer_id: int | None) -> Content:
    url = f"{current_app.config['PORTAL_URL']}/petitions/{code}"
    answers = [a for a in petition.public_answers if answer_id in (None, a.id)]  # its round's (the latest)
    answer = answers[-1].body if kind == "answered" and answers else ""
    values = {
        "code": code,
        "url": url,
        "title": petition.title,
        "received_on": petition.created_at.astimezone(VIETNAM_TIME).strftime("%d/%m/%Y %H:%M"),
        "answer": answer,
    }
    subject = SUBJECTS[kind]
    if channel == "sms":
        return Content(subject, _plain(SMS[kind].format(code=code, url=url)), "", {})
    if channel == "zalo":
        fields = {"ma_theo_doi": code, "tieu_de": petition.title[:100], "ngay_gui": values["received_on"]}
        return Content(subject, subject, "", fields)
    text = render_template(f"notices/{kind}.txt", **values)
    html = render_template(f"notices/{kind}.html", subject=subject, **values)
    return Content(subject, text, html, {})


def _referral(referral_id: int, reminder: bool = False) -> Content:
    """What an agency is sent: the petition as the public would read it, its place, and the reply link."""
    from app.models import Referral
    from app.services.referrals import what_is_sent

    referral = db.session.get(Referral, referral_id)
    values = {**what_is_sent(referral), "agency": referral.agency, "reminder": reminder}
    subject = f"Mặt trận Tổ quốc Việt Nam chuyển kiến nghị {values['reference']}"
    if reminder:
        subject = f"Nhắc: kiến nghị {values['reference']} cần trả lời trước ngày {values['due_on']}"
    text = render_template("notices/referral.txt", **values)
    return Content(subject, text, render_template("notices/referral.html", subject=subject, **values), {})


def _alert(notice: Notice, petition: Petition | None) -> Content:
    """An area alert's mail: its confirmation, one new published petition, or a day's digest."""
    from app.models import AlertSubscription

    kind = base_kind(notice.kind)
    sub = db.session.get(AlertSubscription, int(notice.kind.split(":")[1]))
    base = current_app.config["PORTAL_URL"]
    values = {
        "area": sub.area.full_name,
        "confirm_url": f"{base}/alerts/confirm/{sub.token}",
        "unsubscribe_url": f"{base}/alerts/unsubscribe/{sub.token}",
        "digest": "",
    }
    if kind == "alert_digest":  # the ids it lists, read now: only those still published
        from app.services.alerts import digest_petitions

        values["digest"] = "\n".join(
            f"- {p.shown_title} ({_place(p)}): {base}/p/{p.public_id}" for p in digest_petitions(notice)
        )
    if kind == "alert":  # the published view only, as the public page shows it
        values.update(
            title=petition.shown_title,
            body=petition.shown_body[:600],
            place=_place(petition),
            url=f"{base}/p/{petition.public_id}",
        )
    subject = {
        "alert_confirm": f"Xác nhận nhận tin kiến nghị mới tại {values['area']}",
        "alert": f"Kiến nghị mới tại {values['area']}",
        "alert_digest": f"Kiến nghị mới trong ngày tại {values['area']}",
    }[kind]
    text = render_template(f"notices/{kind}.txt", **values)
    return Content(subject, text, render_template("notices/alert.html", subject=subject, text=text), {})


def _place(petition: Petition) -> str:
    return ", ".join(a.full_name for a in (petition.village, petition.commune) if a is not None)


def _plain(text: str) -> str:
    """Vietnamese without diacritics (đ → d): what an SMS carries in one part."""
    text = text.replace("đ", "d").replace("Đ", "D")
    return "".join(ch for ch in unicodedata.normalize("NFD", text) if not unicodedata.combining(ch))
