"""The portal's SMTP receiver: mail to the Front's intake address becomes a received petition.

It takes mail for INBOUND_EMAIL_ADDRESS (kiennghi@mattran.vn) and its
"+code" variants (kiennghi+17600@mattran.vn: that commune's inbox); any other
recipient is refused at RCPT, and so is a message that names no place when
no default area is set, so that the sender's server bounces it to him. It
is run by `flask inbound smtp` (a supervised process) behind the domain's
MX, or a relay that forwards the intake address to it.
"""

from __future__ import annotations

import email
import email.policy
import logging
import re
from email.utils import parseaddr

from flask import Flask

from app.extensions import db
from app.services import inbound

log = logging.getLogger("portal.inbound")


class IntakeHandler:
    """aiosmtpd's handler: checks each recipient, files each message in the portal's app context."""

    def __init__(self, app: Flask):
        self.app = app
        local, _, domain = app.config["INBOUND_EMAIL_ADDRESS"].lower().partition("@")
        self.pattern = re.compile(rf"^{re.escape(local)}(?:\+(\d{{5}}|\d{{2}}))?@{re.escape(domain)}$")

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if not self.pattern.match(address.lower()):
            return "550 5.1.1 Dia chi nay khong nhan kien nghi"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        try:
            return self.file(envelope)
        except Exception:  # noqa: BLE001  (a fault of ours: the sender's server keeps it and tries again)
            log.exception("inbound mail not filed")
            return "451 4.3.0 Tam thoi chua nhan duoc, xin gui lai sau"

    def file(self, envelope) -> str:
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        name, sender = parseaddr(str(message.get("From", "")) or envelope.mail_from)
        code = next(
            (m.group(1) for a in envelope.rcpt_tos if (m := self.pattern.match(a.lower())) and m.group(1)), None
        )
        body = message.get_body(preferencelist=("plain", "html"))
        text = body.get_content() if body is not None else ""
        if body is not None and body.get_content_type() == "text/html":
            text = re.sub(r"<[^>]+>", " ", text)
        images = [
            part.get_content()
            for part in message.iter_attachments()
            if part.get_content_maintype() == "image" and isinstance(part.get_content(), bytes)
        ]
        message_id = str(message.get("Message-ID") or "").strip("<> ") or f"{sender}:{message.get('Date', '')}"
        with self.app.app_context():
            try:
                filed = inbound.file(
                    inbound.InboundMessage(
                        "email",
                        sender or envelope.mail_from,
                        text,
                        message_id[:58],
                        subject=str(message.get("Subject", "")),
                        name=name,
                        area_code=code,
                        images=images,
                    )
                )
            except inbound.NoPlaceGiven:
                db.session.rollback()
                return "550 5.1.1 Hay gui den kiennghi+<ma xa, phuong> de kien nghi den dung noi"
            finally:
                db.session.remove()
        log.info("inbound mail filed", extra={"public_id": filed.public_id, "new": filed.created})
        return "250 Da nhan kien nghi"


def controller(app: Flask, host: str, port: int):
    """The receiver, ready to start(): messages up to MAX_UPLOAD_MB."""
    from aiosmtpd.controller import Controller

    return Controller(IntakeHandler(app), hostname=host, port=port, data_size_limit=app.config["MAX_CONTENT_LENGTH"])
