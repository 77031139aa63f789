"""Zalo notification messages (ZNS): the template API of Zalo's official accounts.

POST {"phone": "84…", "template_id", "template_data": {…}, "tracking_id"}
with the OA's "access_token" header; Zalo answers {"error": 0, "data":
{"msg_id": …}} or a negative error and its message. Every kind of notice
needs a template Zalo has approved: ZALO_TEMPLATES maps them
("answered=<template id>,received=<template id>"); a kind without one is
not sent on Zalo.
"""

from __future__ import annotations

from app.senders import Message, Refused, Sender, Unavailable, international
from app.senders._http import post_json

# The error that passes: the OA's access token expired or is invalid (the operator renews it; the
# notice is tried again). Any other error is Zalo refusing this message (a number without Zalo, …).
PASSING_ERRORS = {-124}


def parse_templates(setting: str) -> dict[str, str]:
    pairs = (item.split("=", 1) for item in setting.split(",") if "=" in item)
    return {kind.strip(): template.strip() for kind, template in pairs if kind.strip() and template.strip()}


class ZaloZns(Sender):
    def __init__(self, url: str, access_token: str, templates: str, timeout: float):
        if not url.startswith(("http://", "https://")):
            raise ValueError("ZALO_ZNS_URL must be an http:// or https:// address")
        self.url, self.access_token, self.timeout = url, access_token, timeout
        self.templates = parse_templates(templates)

    def takes(self, kind: str) -> bool:
        return kind in self.templates

    def send(self, message: Message) -> str:
        template = self.templates.get(message.template)
        if template is None:
            raise Refused(f"no Zalo template is set for the notice {message.template!r} (ZALO_TEMPLATES)")
        body = {
            "phone": international(message.recipient),
            "template_id": template,
            "template_data": message.fields,
            "tracking_id": message.reference,
        }
        answer = post_json(self.url, body, {"access_token": self.access_token}, self.timeout, "Zalo")
        error = answer.get("error")
        if error == 0:
            return str((answer.get("data") or {}).get("msg_id", ""))
        reason = f"Zalo answered error {error!r}: {answer.get('message', '')!s:.200}"
        raise (Unavailable if error in PASSING_ERRORS else Refused)(reason)
