"""Login, logout, activation."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from flask import current_app, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from app.auth import FACTOR, bp, browsers, factor_mark
from app.auth.forms import ActivateForm, CodeForm, EnrolForm, LoginForm
from app.clients import client_key
from app.extensions import db
from app.models import User
from app.services import accounts, second_factor


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never an open redirect (browsers read "/\\host" as "//host")."""
    if (
        target
        and target.startswith("/")
        and not target.startswith("//")
        and not urlsplit(target).netloc
        and not any(ch == "\\" or ord(ch) < 32 for ch in target)
    ):
        return target
    return url_for("officer.inbox_page")


@bp.route("/login", methods=["GET", "POST"])
def login():  # rate limited per client and per account: see app/limits.py
    """Log an officer in."""
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        try:
            # The client address is the trusted proxies' (ProxyFix) when TRUST_PROXY_HOPS is set.
            user = accounts.authenticate(form.username.data, form.password.data, client_key())
        except accounts.LoginRefused as refused:
            error = refused.message
        else:
            session.clear()  # a fresh session: no fixation
            session.permanent = True  # expires after PERMANENT_SESSION_LIFETIME without activity
            next_page = _safe_next(request.args.get("next"))
            if second_factor.enrolled(user) or second_factor.required(user):
                # The password is right; the second factor decides. Nothing is unlocked until then.
                session[PENDING] = {"user": user.id, "at": time.time(), "next": next_page}
                step = ".second_factor_code" if second_factor.enrolled(user) else ".enrol"
                return redirect(url_for(step))
            return _logged_in(user, next_page)
    return render_template("auth/login.html", form=form, error=error), 200 if error is None else 401


PENDING = "second_factor_pending"
PENDING_FOR_S = 300  # the second step must follow the password within five minutes


def _logged_in(user, next_page: str, response=None):
    """Log the officer in and answer (by default, a redirect to where they were going)."""
    session.pop(PENDING, None)
    login_user(user)
    session[FACTOR] = factor_mark(user)
    response = response if response is not None else redirect(next_page)
    browsers.remember(response, user.username)
    return response


def _pending_user():
    """The officer who gave the right password a moment ago in this browser, or None."""
    pending = session.get(PENDING)
    if not isinstance(pending, dict) or time.time() - float(pending.get("at", 0)) > PENDING_FOR_S:
        return None
    user = db.session.get(User, pending.get("user"))
    return user if user is not None and user.active else None


@bp.route("/login/code", methods=["GET", "POST"])
def second_factor_code():  # rate limited per client: see app/limits.py; wrong codes back off per account
    """Take the code of the officer's authenticator app, or a recovery code."""
    user = _pending_user()
    if user is None or not second_factor.enrolled(user):
        return redirect(url_for(".login"))
    form = CodeForm()
    error = None
    if form.validate_on_submit():
        second_factor.lock(user)  # parallel guesses wait their turn behind the count
        if not accounts.code_attempt_allowed(user, client_key()):
            error = _("Nhập sai nhiều lần. Hãy đợi một lát rồi thử lại.")
        elif second_factor.verify(user, form.code.data):
            accounts.code_failed(user, client_key(), failed=False)
            db.session.commit()
            return _logged_in(user, session[PENDING]["next"])
        else:
            accounts.code_failed(user, client_key(), failed=True)
            error = _("Mã xác thực không đúng hoặc đã dùng rồi.")
        db.session.commit()
    return render_template("auth/code.html", form=form, error=error), 200 if error is None else 401


@bp.route("/login/enrol", methods=["GET", "POST"])
def enrol():  # rate limited per client: see app/limits.py
    """Turn on the second factor: at the first login of an account that needs one, or by choice."""
    pending = _pending_user()
    user = pending or (current_user._get_current_object() if current_user.is_authenticated else None)
    if user is None:
        return redirect(url_for(".login"))
    if second_factor.enrolled(user):
        return redirect(url_for("officer.inbox_page"))
    secret = second_factor.pending_secret(user)  # kept in the database, never in the (readable) cookie
    db.session.commit()
    form = EnrolForm()
    error = None
    if form.validate_on_submit():
        if pending is None and not _password_right(user, form.password.data or ""):
            # From an open session, the password again: a stolen cookie alone enrols no one's phone.
            error = _("Mật khẩu không đúng.")
            codes = None
        else:
            codes = second_factor.enrol(user, form.code.data)
            if codes is None:
                error = _("Mã chưa đúng. Hãy nhập mã đang hiện trong ứng dụng xác thực.")
        if codes is not None:
            db.session.commit()
            next_page = session[PENDING]["next"] if pending is not None else url_for("officer.inbox_page")
            page = current_app.make_response(
                render_template("auth/recovery_codes.html", codes=codes, next_page=next_page)
            )
            page.headers["Cache-Control"] = "no-store"  # the recovery codes are shown once
            return _logged_in(user, next_page, page)
        db.session.commit()
    html = render_template(
        "auth/enrol.html",
        form=form,
        error=error,
        qr=second_factor.qr_svg(user, secret),
        secret=secret,
        user=user,
        needs_password=pending is None,
    )
    page = current_app.make_response((html, 200 if error is None else 401))
    page.headers["Cache-Control"] = "no-store"  # the secret is on the page
    return page


def _password_right(user, password: str) -> bool:
    try:
        accounts.authenticate(user.username, password, client_key())  # counts and backs off like a login
    except accounts.LoginRefused:
        return False
    return True


@bp.post("/logout")
@login_required
def logout():
    """Log out."""
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


@bp.route("/activate", methods=["GET", "POST"])
def activate():  # rate limited: see app/limits.py
    """Exchange an activation code for a password (accounts created in bulk)."""
    form = ActivateForm()
    error = None
    if form.validate_on_submit():
        try:
            user = accounts.activate(form.username.data, form.code.data, form.password.data)
        except (accounts.AccountError, accounts.PasswordRefused) as refused:
            db.session.rollback()
            error = refused.message
        else:
            db.session.commit()
            response = redirect(url_for("auth.login", activated=1))
            browsers.remember(response, user.username)
            return response
    return render_template("auth/activate.html", form=form, error=error), 200 if error is None else 422
