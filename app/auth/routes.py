"""Login, logout, activation."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import redirect, render_template, request, session, url_for
from flask_login import login_required, login_user, logout_user

from app.auth import bp, browsers
from app.auth.forms import ActivateForm, LoginForm
from app.clients import client_key
from app.extensions import db
from app.services import accounts


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never an open redirect."""
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
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
            login_user(user)
            response = redirect(_safe_next(request.args.get("next")))
            browsers.remember(response, user.username)
            return response
    return render_template("auth/login.html", form=form, error=error), 200 if error is None else 401


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
