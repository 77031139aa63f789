"""E-mail over SMTP: STARTTLS (smtp://, required) or TLS from the start (smtps://), HTML and plain text."""

from __future__ import annotations

import os
import smtplib
import ssl
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formataddr, formatdate, make_msgid, parseaddr
from urllib.parse import unquote, urlsplit

from app.senders import Message, Refused, Sender, Unavailable


class Email(Sender):
    def __init__(self, url: str, sender: str, ca_file: str, timeout: float):
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("SMTP_URL must be smtp://[user:password@]host[:port] or smtps://…")
        self.implicit_tls = parts.scheme == "smtps"
        self.host, self.port = parts.hostname, parts.port or (465 if self.implicit_tls else 587)
        self.user = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password or "")
        if ca_file and not os.path.isfile(ca_file):
            raise ValueError(f"SMTP_CA_FILE {ca_file} is not a file")
        self.sender, self.ca_file, self.timeout = sender, ca_file or None, timeout

    def send(self, message: Message) -> str:
        # MIME of the old API: Python's folding of non-ASCII headers (email.policy) drops the space where it
        # cuts a Vietnamese subject ("mới tại" arrived as "mớitại"); Header cuts inside encoded words instead,
        # in lines of at most 78 characters, and the bodies go as base64 in 76-character lines.
        mail = MIMEMultipart("alternative") if message.html else MIMEText(message.text, "plain", "utf-8")
        if message.html:
            mail.attach(MIMEText(message.text, "plain", "utf-8"))
            mail.attach(MIMEText(message.html, "html", "utf-8"))
        name, address = parseaddr(self.sender)
        mail["From"] = formataddr((name, address)) if name else address  # a non-ASCII name encoded
        mail["To"] = message.recipient
        mail["Subject"] = Header(message.subject, "utf-8", header_name="Subject")
        mail["Date"] = formatdate(localtime=False)
        mail["Message-ID"] = make_msgid(domain=address.rpartition("@")[2] or None)
        context = ssl.create_default_context(cafile=self.ca_file)
        try:
            client = self._connect(context)
            try:
                if self.user:
                    client.login(self.user, self.password)
                client.send_message(mail)
            except BaseException:
                client.close()
                raise
        except smtplib.SMTPRecipientsRefused as exc:
            code, reply = next(iter(exc.recipients.values()))
            raise (Refused if code >= 500 else Unavailable)(
                f"the mail server refused the address: {code} {_text(reply)}"
            ) from None
        except smtplib.SMTPAuthenticationError as exc:
            raise Unavailable(f"the mail server refused the portal's login: {exc.smtp_code}") from None
        except smtplib.SMTPResponseException as exc:
            error = Refused if exc.smtp_code >= 500 and exc.smtp_code != 530 else Unavailable
            raise error(f"the mail server answered {exc.smtp_code} {_text(exc.smtp_error)}") from None
        except smtplib.SMTPNotSupportedError as exc:
            raise Refused(f"the mail server cannot take this message: {exc}") from None
        except ssl.SSLError as exc:
            raise Unavailable(f"TLS with the mail server failed: {exc.reason or exc}") from None
        except (OSError, smtplib.SMTPException) as exc:
            raise Unavailable(f"the mail server could not be reached: {exc.__class__.__name__}: {exc}") from None
        try:  # the message was accepted: a QUIT that fails changes nothing (and must not send it again)
            client.quit()
        except (OSError, smtplib.SMTPException):
            client.close()
        return mail["Message-ID"]

    def _connect(self, context: ssl.SSLContext) -> smtplib.SMTP:
        if self.implicit_tls:
            return smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            client.ehlo()
            if not client.has_extn("starttls"):  # never the citizen's address and text in clear
                raise Unavailable("the mail server offers no STARTTLS")
            client.starttls(context=context)
            client.ehlo()
        except BaseException:
            client.close()
            raise
        return client


def _text(reply: bytes | str) -> str:
    return (reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply))[:300]
