"""SMS through a brand-name gateway's HTTP API.

The portal POSTs JSON {"brandname", "phone" (84…), "message", "request_id"}
with "Authorization: Bearer <SMS_GATEWAY_KEY>"; the gateway answers 200 with
{"code": 0, "message_id": "…"} when it took the message, or another code and
its "description" when it refused it. The texts go without diacritics: one
160-character part instead of 70-character Unicode parts.
"""

from __future__ import annotations

from app.senders import Message, Refused, Sender, international
from app.senders._http import post_json


class SmsGateway(Sender):
    def __init__(self, url: str, key: str, brandname: str, timeout: float):
        if not url.startswith(("http://", "https://")):
            raise ValueError("SMS_GATEWAY_URL must be an http:// or https:// address")
        self.url, self.key, self.brandname, self.timeout = url, key, brandname, timeout

    def send(self, message: Message) -> str:
        body = {
            "brandname": self.brandname,
            "phone": international(message.recipient),
            "message": message.text,
            "request_id": message.reference,
        }
        headers = {"Authorization": f"Bearer {self.key}"}
        answer = post_json(self.url, body, headers, self.timeout, "the SMS gateway")
        if answer.get("code") != 0:
            code, description = answer.get("code"), str(answer.get("description", ""))[:200]
            raise Refused(f"the SMS gateway refused the message: code {code!r} {description}")
        return str(answer.get("message_id", ""))
