"""The channels that carry notices out of the portal: e-mail, SMS, Zalo.

Each sender is one class with send(message) that returns the provider's id
for the message, or raises Refused (the message will never go: a bad
address, a number the gateway refuses; not retried) or Unavailable (the
channel is away for now: retried with backoff, then given up). A channel
whose settings are empty is off: configured() leaves it out, and no notice
is written for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import Flask, current_app


class Refused(Exception):
    """The channel refused this message for good."""


class Unavailable(Exception):
    """The channel could not take the message now; another attempt may.

    maybe_received: the other side may have acted on it all the same (it timed out, or failed after
    reading the request): for a request that has no idempotency key, sending it again could do it twice.
    """

    def __init__(self, message: str, maybe_received: bool = False):
        super().__init__(message)
        self.maybe_received = maybe_received


@dataclass(frozen=True)
class Message:
    recipient: str
    subject: str
    text: str
    html: str = ""
    reference: str = ""  # ours, sent along where the channel keeps one (the notice's id)
    template: str = ""  # the kind of notice, for channels of approved templates (Zalo)
    fields: dict = field(default_factory=dict)  # the template's values


class Sender:
    """A channel: send() a message, the provider's id back; takes() the kinds of notice it can carry."""

    def takes(self, kind: str) -> bool:
        return True  # any text (a channel of approved templates takes only the kinds it has one for)

    def send(self, message: Message) -> str:
        raise NotImplementedError


def configured() -> dict[str, Sender]:
    """The channels that are on, by name."""
    return build(current_app.config)


def build(config) -> dict[str, Sender]:
    from app.senders.email import Email
    from app.senders.sms import SmsGateway
    from app.senders.zalo import ZaloZns

    timeout = config["NOTICE_TIMEOUT_S"]
    on: dict[str, Sender] = {}
    if config["SMTP_URL"]:
        on["email"] = Email(config["SMTP_URL"], config["MAIL_FROM"], config["SMTP_CA_FILE"], timeout)
    if config["SMS_GATEWAY_URL"]:
        on["sms"] = SmsGateway(config["SMS_GATEWAY_URL"], config["SMS_GATEWAY_KEY"], config["SMS_BRANDNAME"], timeout)
    if config["ZALO_ZNS_URL"]:
        on["zalo"] = ZaloZns(config["ZALO_ZNS_URL"], config["ZALO_ACCESS_TOKEN"], config["ZALO_TEMPLATES"], timeout)
    return on


def init_app(app: Flask) -> None:
    """Refuse to start with a channel's settings that cannot work, saying which."""
    from app.config import ConfigError

    try:
        build(app.config)
        intervals = [int(s) for s in app.config["NOTICE_RETRY_S"].split(",")]
    except ValueError as exc:
        raise ConfigError(f"Notices: {exc}") from None
    if not intervals or min(intervals) < 0:
        raise ConfigError("Notices: NOTICE_RETRY_S lists the seconds between attempts, e.g. 30,120,600.")


def international(phone: str) -> str:
    """A stored Vietnamese mobile number (0912345678) as the gateways take it: 84912345678."""
    return "84" + phone[1:] if phone.startswith("0") else phone.lstrip("+")
