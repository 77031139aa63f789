"""The citizen's pages: send a petition, follow it, rate the answer (adding a voice: voices.py)."""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path

from flask import (
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from sqlalchemy.exc import OperationalError
from werkzeug.datastructures import MultiDict

from app import params, static_files
from app.errors import MESSAGES, wants_json
from app.extensions import db
from app.petitions import bp
from app.petitions.forms import PetitionForm, RatingForm, TrackForm
from app.petitions.photos import send_photo
from app.petitions.script_texts import form_script_texts
from app.services import categories, publication, timeline
from app.services import petitions as petition_service
from app.storage import StorageError


def _picking() -> bool:
    return request.form.get("action") == "pick"


def _form_page(form: PetitionForm, status: int = 200, banner: str | None = None):
    form.offer_places()
    return _no_store(_render_form(form, banner), status)


def _render_form(form: PetitionForm, banner: str | None) -> str:
    return render_template(
        "petitions/new.html", form=form, banner=banner, assets=assets_version(), script_texts=form_script_texts()
    )


def _no_store(html: str, status: int):
    """A page no cache may keep: the form (each load carries a fresh idempotency key), the status page."""
    response = current_app.make_response((html, status))
    response.headers["Cache-Control"] = "no-store"
    return response


@cache
def assets_version() -> str:
    """A hash of the static files the service worker caches; a new one renews its cache."""
    digest = hashlib.sha256()
    for path in sorted(Path(current_app.static_folder).glob("**/*")):
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


@bp.get("/petitions/new")
def new():
    """Show the petition form."""
    # A link may choose the category and the place pickers, nothing else: not the point, the publication
    # choice, the honeypot, nor the idempotency key (only ever the server's).
    prefill = MultiDict((name, request.args[name]) for name in PREFILLED if name in request.args)
    form = PetitionForm(formdata=prefill or None, categories=categories.choices())
    form.idempotency_key.data = petition_service.new_idempotency_key()
    return _form_page(form)


PREFILLED = ("category", "province", "commune", "village")


@bp.post("/petitions")
def create():  # rate limited: see app/limits.py
    """Accept a petition from the form (or refresh its pickers when JavaScript is off)."""
    try:
        form = PetitionForm(categories=categories.choices())
    except OperationalError:
        db.session.rollback()
        return _unavailable(PetitionForm(categories=[]))
    if _picking():  # not validated: the citizen is still choosing the place (and photos are not decoded)
        return _form_page(form)
    if not form.validate_on_submit():
        if wants_json():
            questions = {f"q_{code}": [message] for code, message in form.question_errors.items()}
            return jsonify({"errors": {**form.errors, **questions}}), 422
        return _form_page(form, 422)
    try:
        result = petition_service.submit(form.to_submission(channel="web"))
    except (OperationalError, StorageError) as exc:  # the database or the photo store is away
        current_app.logger.warning("petition not taken, %s unavailable: %s", type(exc).__name__, exc)
        db.session.rollback()
        return _unavailable(form)
    except petition_service.KeyReused:
        return _key_reused(form)
    except petition_service.NoPlace as refused:  # an unknown area, or a point in no commune
        form.place_refused(refused)
        if wants_json():
            return jsonify({"errors": {"province": form.province.errors}}), 422
        return _form_page(form, 422)
    if wants_json():
        return jsonify(_receipt(result)), 201 if result.created else 200
    return redirect(url_for(".status", code=result.display_code, new=1), 303)


def _unavailable(form: PetitionForm):
    code, message = MESSAGES[503][0], str(MESSAGES[503][1])
    if wants_json():
        return jsonify({"error": {"code": code, "message": message}}), 503
    return _no_store(_render_form(form, message), 503)


def _key_reused(form: PetitionForm):
    """The form's key already made a petition with other content: nothing merged, the text kept, a fresh key."""
    message = _("Biểu mẫu này đã được dùng để gửi một kiến nghị khác. Nội dung của bạn vẫn còn; hãy bấm gửi lại.")
    form.idempotency_key.data = petition_service.new_idempotency_key()
    if wants_json():
        return jsonify({"error": {"code": "key_reused", "message": message}}), 409
    return _no_store(_render_form(form, message), 409)


def _receipt(result: petition_service.Submitted) -> dict:
    placed = result.placed
    return {
        "tracking_code": result.display_code,
        "status_url": url_for(".status", code=result.display_code),
        "village": placed.village.as_dict() if placed.village else None,
        "commune": placed.commune.as_dict() if placed.commune else None,
        "province": placed.province.as_dict() if placed.province else None,
        "geotag_method": placed.method,
    }


@bp.get("/petitions/track")
def track():
    """Open the status page of the tracking code typed on the home page."""
    form = TrackForm(request.args)
    petition = petition_service.by_code(form.code.data or "") if form.validate() else None
    if petition is None:
        message = _("Không tìm thấy kiến nghị có mã này. Hãy kiểm tra lại mã theo dõi.") if form.code.data else None
        return render_template("home.html", track_form=form, track_error=message), 404 if form.code.data else 200
    return redirect(url_for(".status", code=petition.display_code))


KEPT = ("new", "lang")  # what the status page's canonical address keeps of a query string


@bp.get("/petitions/<code>")
def status(code: str):
    """Show a petition's status and public answers — never personal data."""
    petition = petition_service.by_code(code) or abort(404)
    if code != petition.display_code:
        return redirect(url_for(".status", code=petition.display_code, **params.kept(request.args, KEPT)), 301)
    # is_new: the banner of a petition just sent; any other value shows none
    return _status_page(petition, RatingForm(), is_new=request.args.get("new") == "1")


def _status_page(petition, rating_form: RatingForm, is_new: bool = False, status: int = 200):
    """The citizen's status page: the facts, who handles it, the timeline with the answers, the rating."""
    html = render_template(
        "petitions/status.html",
        petition=petition,
        category=categories.name(petition.category_code),
        handler=timeline.handler(petition),
        steps=timeline.for_citizen(petition),
        rating_form=rating_form,
        is_new=is_new,
    )
    return _secret_page(html, status)


def _secret_page(html: str, status: int = 200):
    """A page whose address holds the tracking code: kept by no cache.

    Its address never reaches another site: the portal's Referrer-Policy is
    same-origin (app/security_headers.py). Not no-referrer: the page's own
    rating form must keep its Referer, which CSRF checks over HTTPS.
    """
    return _no_store(html, status)


@bp.post("/petitions/<code>/rating")
def rate(code: str):
    """Record whether the citizen is satisfied with the answer (once per answer)."""
    petition = petition_service.by_code(code) or abort(404)
    form = RatingForm()
    if form.validate_on_submit():
        try:
            petition_service.rate(petition, form.satisfied.data == "y", (form.comment.data or "").strip())
        except petition_service.NotAnswered:
            form.satisfied.errors = [_("Kiến nghị chưa có câu trả lời để đánh giá.")]
        except petition_service.AlreadyRated:
            form.satisfied.errors = [_("Bạn đã đánh giá câu trả lời này. Mỗi câu trả lời chỉ được đánh giá một lần.")]
        else:
            return redirect(url_for(".status", code=petition.display_code, rated=1), 303)
    return _status_page(petition, form, status=422)


@bp.get("/petitions/<code>/photos/<int:photo_id>")
def photo(code: str, photo_id: int):
    """Serve the citizen a processed photo (re-encoded, without metadata) of their own petition."""
    petition = petition_service.by_code(code) or abort(404)
    found = next((p for p in petition.photos if p.id == photo_id and p.status == "ready"), None) or abort(404)
    return send_photo(found, public=False)


@bp.get("/p/<public_id>")
def public(public_id: str):
    """Show a published petition: redacted text, its village, released photos — nothing personal."""
    petition = petition_service.by_public_id(public_id)
    if petition is None or not publication.is_published(petition):
        abort(404)
    return render_template(
        "petitions/public.html",
        petition=petition,
        category=categories.name(petition.category_code),
        photos=publication.public_photos(petition),
        handler=timeline.handler(petition),
        steps=timeline.for_public(petition),
    )


@bp.get("/p/<public_id>/photos/<int:photo_id>")
def public_photo(public_id: str, photo_id: int):
    """Serve a photo an officer released, of a published petition."""
    petition = petition_service.by_public_id(public_id) or abort(404)
    found = next((p for p in publication.public_photos(petition) if p.id == photo_id), None) or abort(404)
    return send_photo(found, public=True)


@bp.get("/sw.js")
def service_worker():
    """Serve the service worker from the root so it can cover every page."""
    script = (Path(current_app.static_folder) / "js" / "sw.js").read_text(encoding="utf-8")
    # The hashed addresses of the static files, which the pages ask for and the worker caches.
    addresses = f"self.STATIC_URLS = {json.dumps(static_files.urls(), sort_keys=True)};\n"
    response = current_app.response_class(addresses + script, mimetype="text/javascript")
    response.headers["Service-Worker-Allowed"] = "/"
    response.headers["Cache-Control"] = "no-cache"
    return response
