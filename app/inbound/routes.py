"""The SMS gateway hands over the messages citizens send to the Front's number."""

from __future__ import annotations

import json

from flask import current_app, jsonify, request

from app import signing
from app.extensions import csrf, db
from app.inbound import bp
from app.services import inbound


def _refused(status: int, code: str, message: str):
    return jsonify({"error": {"code": code, "message": message}}), status


@bp.post("/sms")
@csrf.exempt  # a machine's call, authenticated by its signature instead
def sms():
    """File an SMS the gateway received: {"from", "text", "message_id"}, signed with INBOUND_SMS_SECRET."""
    secret = current_app.config["INBOUND_SMS_SECRET"]
    if not secret:
        return _refused(404, "not_found", "Inbound SMS is not configured.")
    body = request.get_data(cache=False)
    try:
        signing.verify(secret, body, request.headers)
    except signing.BadSignature as exc:
        db.session.rollback()
        return _refused(401, "bad_signature", str(exc))
    try:
        message = json.loads(body)
        sender, text, message_id = (str(message[k]).strip() for k in ("from", "text", "message_id"))
    except (ValueError, KeyError, TypeError, AttributeError):
        db.session.commit()  # the signature is spent all the same
        return _refused(400, "bad_message", 'The body is JSON: {"from": "0912…", "text": "…", "message_id": "…"}.')
    if not (sender and text and message_id) or len(message_id) > 50:
        db.session.commit()
        return _refused(400, "bad_message", "from, text and message_id (1–50 characters) are needed.")
    code, text = inbound.sms_code_and_text(text)
    try:
        filed = inbound.file(inbound.InboundMessage("sms", sender, text, message_id, area_code=code))
    except inbound.NoPlaceGiven:
        db.session.commit()
        return _refused(422, "no_place", "The text names no commune or province, and no default area is set.")
    return jsonify({"status": "received", "service_request_id": filed.public_id, "new": filed.created})
