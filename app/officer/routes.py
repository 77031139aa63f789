"""The officer's inbox, a petition's page and the workflow actions.

Every route loads petitions through app/services/scope.py: a petition
outside the officer's area is not found (404), whatever the link.
"""

from __future__ import annotations

from dataclasses import replace

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from app import params
from app.agency.files import send_reply_file
from app.extensions import db
from app.models import AuditEvent, Petition, Referral
from app.models.petition import STATUS_NAMES
from app.officer import bp
from app.officer.forms import FILTERS, ActionForm, FileForCitizenForm, FilterForm
from app.petitions.photos import send_photo
from app.queries.areas import area_outline
from app.services import answer_templates, areas, categories, inbox, referrals, scope, workflow
from app.services import bulk as bulk_actions
from app.services import petitions as petition_service


@bp.before_request
@login_required
def officers_only():
    """Every page here needs a logged-in officer."""


@bp.get("/")
def inbox_page():
    """List the officer's petitions, filtered and paged."""
    form = FilterForm(request.args)
    form.category.choices = [("", _("— Mọi lĩnh vực —")), *categories.choices()]
    form.village.choices = [("", _("— Mọi thôn, tổ dân phố —")), *_village_choices()]
    selection = form.to_filter(request.args)
    typed = params.parse_text(request.args, "commune", 200) if current_user.role != "commune" else ""
    commune_id, commune_choices = inbox.commune_named(current_user, typed)
    selection = replace(selection, commune_id=commune_id)
    result = inbox.page(current_user, selection)
    places_petitions = current_user.role != "commune"  # provincial and central staff place the unplaced ones
    filters = params.kept(request.args, FILTERS)
    return render_template(
        "officer/inbox.html",
        form=form,
        page=result,
        counts=inbox.counts(current_user, selection),
        unplaced=inbox.unplaced_count(current_user, selection) if places_petitions else 0,
        places_petitions=places_petitions,
        selection=selection,
        filters=filters,
        all_queue={k: v for k, v in filters.items() if k != "unplaced"},  # the "all" tab: the same filters
        category_names=dict(categories.choices()),
        status_names=STATUS_NAMES,
        bulk_actions=bulk_actions.ACTIONS,
        commune_choices=commune_choices,
        commune_typed=typed,
        transitions=workflow.TRANSITIONS,
    )


def _village_choices() -> list[tuple[str, str]]:
    if current_user.role != "commune":
        return []  # provincial and central staff filter by the other fields
    return [(a["code"], f"{a['unit_type']} {a['name']}") for a in areas.listing(current_user.area)]


@bp.get("/petitions/<int:petition_id>")
def petition(petition_id: int):
    """Show a petition with its place, photos, history and actions (?use=<template id>: an answer prefilled)."""
    found = scope.petition_for(current_user, petition_id)
    return _petition_page(found, use=params.parse_int(request.args, "use", 1, 2**31 - 1))


def _petition_page(
    petition: Petition,
    *,
    contact_shown: bool = False,
    form: ActionForm | None = None,
    status: int = 200,
    choices: list | None = None,
    use: int | None = None,
):
    history = db.session.scalars(
        select(AuditEvent).where(AuditEvent.petition_id == petition.id).order_by(AuditEvent.id)
    ).all()
    duplicates = petition_service.possible_duplicates(petition, scope.petitions_visible_to(current_user))
    return render_template(
        "officer/petition.html",
        petition=petition,
        history=history,
        contact_shown=contact_shown,
        actions=workflow.allowed_actions(petition),
        transitions=workflow.TRANSITIONS,
        form=form or ActionForm(),
        duplicates=duplicates,
        category=categories.name(petition.category_code),
        village_boundary=area_outline(petition.village_id),
        point=petition.point,
        event_names=workflow.EVENT_NAMES,
        actor_name=workflow.actor_name,
        assignable=workflow.assignable(petition),
        assignee=workflow.current_assignee(petition),
        **_templates(petition, use),
        status_names=STATUS_NAMES,
        agencies=referrals.agencies_for(petition),
        choices=choices or [],
        referred=db.session.scalars(
            select(Referral).where(Referral.petition_id == petition.id).order_by(Referral.id)
        ).all(),
    ), status


def _templates(petition: Petition, use: int | None) -> dict:
    """The answer templates offered on the resolve and reject forms, and the text of the one chosen."""
    offered = {action: answer_templates.for_petition(petition, action) for action in ("resolve", "reject")}
    prefill = {
        action: answer_templates.fill(t, petition) for action, found in offered.items() for t in found if t.id == use
    }
    return {"answer_templates": offered, "prefill": prefill}


@bp.post("/petitions/<int:petition_id>/contact")
def contact(petition_id: int):
    """Show the citizen's name and phone; the view itself is an audit row."""
    petition = scope.petition_for(current_user, petition_id)
    if not current_user.sees_personal_data:
        abort(403)
    workflow.record(petition, current_user, "viewed_contact")
    db.session.commit()
    return _petition_page(petition, contact_shown=True)


@bp.get("/petitions/<int:petition_id>/photos/<int:photo_id>")
def photo(petition_id: int, photo_id: int):
    """Serve a processed photo of a petition in the officer's area (never cached by shared caches)."""
    petition = scope.petition_for(current_user, petition_id)
    found = next((p for p in petition.photos if p.id == photo_id and p.status == "ready"), None) or abort(404)
    return send_photo(found, public=False)


@bp.post("/bulk")
def bulk():
    """Apply one action to the petitions picked in the inbox; a line per petition says how it went."""
    form = ActionForm()
    ids = [int(v) for v in request.form.getlist("ids") if v.isdigit() and len(v) < 12]
    if not form.validate_on_submit() or form.action.data not in bulk_actions.ACTIONS:
        abort(400)
    if not ids:
        flash(_("Hãy đánh dấu ít nhất một kiến nghị."), "error")
        return redirect(url_for(".inbox_page"), 303)
    lines = bulk_actions.apply(current_user, ids, form.action.data, note=form.note.data or "", **form.details())
    return render_template("officer/bulk_result.html", lines=lines, action=workflow.TRANSITIONS[form.action.data].label)


@bp.get("/petitions/<int:petition_id>/referrals/<int:referral_id>/file")
def referral_file(petition_id: int, referral_id: int):
    """Download the file an agency attached to its answer."""
    petition = scope.petition_for(current_user, petition_id)
    referral = db.session.get(Referral, referral_id)
    if referral is None or referral.petition_id != petition.id or not referral.reply_file_key:
        abort(404)
    return send_reply_file(referral)


@bp.post("/petitions/<int:petition_id>/act")
def act(petition_id: int):
    """Apply a workflow action (accept, reject, answer, forward, …)."""
    petition = scope.petition_for(current_user, petition_id)
    form = ActionForm()
    if not form.validate_on_submit():
        return _petition_page(petition, form=form, status=422)
    try:
        workflow.act(
            petition,
            form.action.data,
            current_user,
            note=form.note.data or "",
            expected_version=form.version.data,
            **form.details(),
        )
    except workflow.WorkflowError as refused:
        db.session.rollback()
        flash(refused.message, "error")
        choices = getattr(refused, "choices", None)  # a name several areas share: pick one (no JavaScript needed)
        return _petition_page(scope.petition_for(current_user, petition_id), form=form, status=422, choices=choices)
    flash(_("Đã %(action)s.", action=workflow.TRANSITIONS[form.action.data].label.lower()), "success")
    if db.session.scalar(scope.petitions_visible_to(current_user).where(Petition.id == petition_id)) is None:
        return redirect(url_for(".inbox_page"), 303)  # forwarded out of this inbox
    return redirect(url_for(".petition", petition_id=petition_id), 303)


@bp.route("/petitions/new", methods=["GET", "POST"])
def file_for_citizen():
    """File a petition on a citizen's behalf (hotline, paper, voter meeting)."""
    form = FileForCitizenForm(categories=categories.choices(), home_area=current_user.area)
    picking = request.form.get("action") == "pick"
    if not picking and form.validate_on_submit():
        submission = form.to_submission(channel=form.channel.data)
        submission.filed_by_id, submission.actor_label = current_user.id, current_user.username
        try:
            result = petition_service.submit(submission)
        except petition_service.NoPlace as refused:  # an unknown area, or a photo taken in no commune
            form.place_refused(refused)
            form.offer_places()
            return render_template("officer/new_petition.html", form=form), 422
        petition = petition_service.by_code(result.tracking_code)
        flash(_("Đã ghi nhận kiến nghị %(code)s.", code=result.display_code), "success")
        if db.session.scalar(scope.petitions_visible_to(current_user).where(Petition.id == petition.id)) is None:
            return redirect(url_for(".inbox_page"), 303)
        return redirect(url_for(".petition", petition_id=petition.id), 303)
    form.offer_places()
    return render_template("officer/new_petition.html", form=form), 422 if form.errors else 200
