"""Personal data over time: a closed petition's contact details are anonymised after the retention period."""

from __future__ import annotations

import pytest
from rq import Queue, SimpleWorker
from sqlalchemy import select, text

from app.config import Config
from app.extensions import db
from app.jobs import tasks
from app.models import AuditEvent, Notice, Petition
from app.redis_conn import redis
from app.services import notices, retention, workflow
from tests.factories import log_in, officer, petition_in, slice_communes


@pytest.fixture
def commune(app_ctx) -> str:
    return slice_communes(1)[0]


def aged(petition: Petition, months: int, status: str = "resolved", **columns) -> Petition:
    """Put the petition in a status it has held for `months` months (as if changed then)."""
    values = {"status": status, "months": months, "id": petition.id, **columns}
    extra = "".join(f", {name} = :{name}" for name in columns)
    db.session.execute(
        text(
            f"UPDATE petitions SET status = :status, status_changed_at = now() - make_interval(0, :months){extra} "
            "WHERE id = :id"
        ),
        values,
    )
    db.session.expire_all()
    return petition


def events(petition: Petition, action: str) -> list[AuditEvent]:
    return list(
        db.session.scalars(select(AuditEvent).where(AuditEvent.petition_id == petition.id, AuditEvent.action == action))
    )


def snapshot(petition: Petition) -> dict:
    """What must survive the anonymisation: text, place, status and the statistics."""
    db.session.refresh(petition)
    names = (
        "title",
        "body",
        "category_code",
        "status",
        "status_changed_at",
        "created_at",
        "updated_at",
        "supporters",
        "satisfied",
        "commune_id",
        "province_id",
        "tracking_code",
        "public_id",
        "is_anonymous",
    )
    return {name: getattr(petition, name) for name in names}


def test_a_petition_closed_25_months_ago_loses_its_contact_with_one_audit_row(commune):
    petition = aged(petition_in(commune), 25, supporters=7, satisfied=True)
    viewer = officer("commune", commune)
    workflow.record(petition, viewer, "viewed_contact")
    db.session.flush()
    [viewed] = events(petition, "viewed_contact")
    before = snapshot(petition)

    assert retention.anonymise_batch() == 1

    db.session.expire_all()
    assert (petition.contact_name, petition.contact_phone) == (None, None)
    assert petition.contact_erased_at is not None
    assert snapshot(petition) == before
    [erased] = events(petition, "contact_erased")
    assert (erased.actor_id, erased.actor_label, erased.from_status, erased.to_status) == (None, "system", None, None)
    assert erased.data["status"] == "resolved" and erased.data["retention_months"] == 24
    # Who viewed the contact before is still on record, unchanged.
    assert [(e.id, e.actor_id, e.at) for e in events(petition, "viewed_contact")] == [(viewed.id, viewer.id, viewed.at)]
    assert "Ẩn danh thông tin liên hệ" in str(workflow.EVENT_NAMES["contact_erased"])


@pytest.mark.parametrize("status", ["rejected", "merged"])
def test_rejected_and_merged_petitions_are_closed_too(commune, status):
    petition = aged(petition_in(commune), 25, status=status)
    assert retention.anonymise_batch() == 1
    db.session.expire_all()
    assert petition.contact_phone is None and petition.status == status


def test_a_petition_closed_23_months_ago_is_untouched(commune):
    petition = aged(petition_in(commune), 23)
    assert retention.due_count() == 0
    assert retention.anonymise_batch() == 0
    db.session.expire_all()
    assert (petition.contact_name, petition.contact_phone) == ("Phạm Thị Dung", "0912345678")
    assert petition.contact_erased_at is None and events(petition, "contact_erased") == []


@pytest.mark.parametrize("status", ["received", "accepted", "in_progress", "forwarded"])
def test_an_open_petition_is_untouched_however_old(commune, status):
    petition = aged(petition_in(commune), 120, status=status)
    assert retention.anonymise_batch() == 0
    db.session.expire_all()
    assert petition.contact_phone == "0912345678" and petition.contact_erased_at is None


def test_a_petition_the_citizen_reopened_is_open_again_and_keeps_its_contact(commune):
    petition = aged(petition_in(commune), 25)
    workflow.act(petition, "reopen", None, note="Chưa giải quyết xong.")
    assert petition.status == "in_progress"
    assert retention.anonymise_batch() == 0
    db.session.expire_all()
    assert petition.contact_phone == "0912345678"


def test_an_anonymous_petition_has_nothing_to_erase(commune):
    petition = aged(petition_in(commune, anonymous=True, name=None, phone=None), 25)
    assert retention.anonymise_batch() == 0
    assert petition.contact_erased_at is None and events(petition, "contact_erased") == []


def test_running_twice_changes_nothing_the_second_time(commune):
    petition = aged(petition_in(commune), 25)
    assert retention.anonymise_batch() == 1
    db.session.expire_all()
    erased_at, version = petition.contact_erased_at, petition.version

    assert retention.anonymise_batch() == 0
    assert retention.anonymise_backlog() == 0
    db.session.expire_all()
    assert (petition.contact_erased_at, petition.version) == (erased_at, version)
    assert len(events(petition, "contact_erased")) == 1


@pytest.fixture
def sms_on(app, monkeypatch):
    """The SMS channel configured, so that a citizen's answer notice is written (its delivery is not run here)."""
    monkeypatch.setitem(app.config, "SMS_GATEWAY_URL", "http://127.0.0.1:9/sms")


def test_the_citizens_notice_recipient_is_erased_and_the_officers_notice_stays(commune, sms_on):
    petition = aged(petition_in(commune), 25)
    viewer = officer("commune", commune)
    notices.notify_citizen(petition, "answered")
    notices.notify_officers(petition, [viewer], "overdue:test", "Kiến nghị quá hạn.")
    db.session.flush()
    citizen_notice = db.session.scalars(select(Notice).where(Notice.channel == "sms")).one()
    assert citizen_notice.recipient == "0912345678"
    body = citizen_notice.body

    retention.anonymise_batch()

    db.session.expire_all()
    rows = db.session.scalars(select(Notice).where(Notice.petition_id == petition.id).order_by(Notice.id)).all()
    assert [(n.channel, n.recipient, n.user_id) for n in rows] == [
        ("sms", retention.ERASED, None),
        ("portal", viewer.username, viewer.id),
    ]
    assert rows[0].body == body
    assert "0912345678" not in {n.recipient for n in db.session.scalars(select(Notice))}


def test_a_backlog_is_worked_through_batch_after_batch_oldest_first(commune):
    petitions = [aged(petition_in(commune), months) for months in (30, 26, 28)]
    assert retention.due_count() == 3
    assert retention.anonymise_batch(batch=2) == 2
    db.session.expire_all()
    assert [p.contact_erased_at is not None for p in petitions] == [True, False, True]
    assert retention.anonymise_backlog(batch=2) == 1
    assert retention.due_count() == 0


def test_the_dry_run_counts_and_writes_nothing_and_the_command_anonymises(runner, commune, sms_on):
    petition = aged(petition_in(commune), 25)
    notices.notify_citizen(petition, "answered")
    db.session.commit()

    result = runner.invoke(args=["privacy", "anonymise", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "1 petitions closed over 24 months ago would be anonymised" in result.output
    db.session.expire_all()
    assert petition.contact_phone == "0912345678" and petition.contact_erased_at is None
    assert events(petition, "contact_erased") == []
    assert db.session.scalar(select(Notice.recipient).where(Notice.petition_id == petition.id)) == "0912345678"

    result = runner.invoke(args=["privacy", "anonymise"])
    assert result.exit_code == 0, result.output
    assert "Anonymised the contact details of 1 petitions" in result.output
    db.session.expire_all()
    assert petition.contact_phone is None and len(events(petition, "contact_erased")) == 1


def test_the_setting_changes_the_period(app, commune, monkeypatch):
    recent = aged(petition_in(commune), 13)
    older = aged(petition_in(commune), 25)
    monkeypatch.setitem(app.config, "CONTACT_RETENTION_MONTHS", 36)
    assert retention.anonymise_batch() == 0
    monkeypatch.setitem(app.config, "CONTACT_RETENTION_MONTHS", 12)
    assert retention.anonymise_batch() == 2
    db.session.expire_all()
    assert recent.contact_phone is None and older.contact_phone is None
    assert events(recent, "contact_erased")[0].data["retention_months"] == 12


def test_the_period_is_read_from_the_environment_with_24_months_by_default(monkeypatch):
    monkeypatch.delenv("CONTACT_RETENTION_MONTHS", raising=False)
    assert Config().CONTACT_RETENTION_MONTHS == 24
    monkeypatch.setenv("CONTACT_RETENTION_MONTHS", "6")
    assert Config().CONTACT_RETENTION_MONTHS == 6


def test_the_sweeper_schedules_the_job_daily_and_the_worker_anonymises(runner, commune):
    redis().flushdb()
    petition = aged(petition_in(commune), 25)
    db.session.commit()
    assert runner.invoke(args=["jobs", "sweep"]).exit_code == 0
    queued = [job.func_name for job in Queue("default", connection=redis()).jobs]
    assert "app.jobs.tasks.anonymise_contacts" in queued

    SimpleWorker(["default"], connection=redis()).work(burst=True)
    db.session.expire_all()
    assert petition.contact_phone is None and len(events(petition, "contact_erased")) == 1
    tasks.anonymise_contacts()  # run again: nothing more
    assert len(events(petition, "contact_erased")) == 1


def test_the_officer_page_says_the_contact_was_anonymised(client, commune):
    petition = aged(petition_in(commune), 25)
    retention.anonymise_batch()
    db.session.commit()
    log_in(client, officer("commune", commune))
    html = client.get(f"/officer/petitions/{petition.id}").get_data(as_text=True)
    assert "Đã ẩn danh sau thời hạn lưu giữ" in html
    assert "Xem thông tin liên hệ" not in html and "0912345678" not in html
    assert "Ẩn danh thông tin liên hệ sau thời hạn lưu giữ" in html  # the history names the event


def test_the_candidates_are_found_through_the_partial_index(app_ctx):
    db.session.execute(text("SET LOCAL enable_seqscan = off"))
    query = retention._due(24).order_by(Petition.status_changed_at).limit(retention.BATCH)
    compiled = query.compile(dialect=db.engine.dialect, compile_kwargs={"literal_binds": True})
    plan = "\n".join(db.session.execute(text(f"EXPLAIN {compiled}")).scalars())
    assert "petitions_contact_retention" in plan, plan
