"""A petition's life through the officers' workflow: every transition, every refusal, the audit trail."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from app.extensions import db
from app.geodata.importer import import_features
from app.models import AuditEvent, Notice, OutboxJob, Referral
from app.services import reminders
from app.services.workflow import TRANSITIONS, WorkflowError, act, allowed_actions
from tests.factories import mini_geography, officer, petition_in, slice_communes


@pytest.fixture
def setting(app_ctx):
    a, b = slice_communes(2)
    return {"a": a, "b": b, "officer": officer("commune", a), "province": officer("province", "46")}


def history(petition) -> list[tuple[str, str | None, str | None]]:
    return [
        (e.action, e.from_status, e.to_status)
        for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.petition_id == petition.id).order_by(AuditEvent.id)
        )
    ]


def test_a_petition_s_whole_life_is_in_its_audit_trail(setting):
    p, actor = petition_in(setting["a"]), setting["officer"]
    act(p, "accept", actor)
    act(p, "start", actor)
    act(p, "resolve", actor, answer="Đã thay bóng đèn.")
    assert history(p) == [
        ("received", None, "received"),
        ("accept", "received", "accepted"),
        ("start", "accepted", "in_progress"),
        ("resolve", "in_progress", "resolved"),
    ]
    assert [e.actor_label for e in db.session.scalars(select(AuditEvent).where(AuditEvent.petition_id == p.id))] == [
        "citizen",
        actor.username,
        actor.username,
        actor.username,
    ]
    assert p.public_answers[0].body == "Đã thay bóng đèn."


# Every action from every status: allowed where the table says, refused elsewhere.
@pytest.mark.parametrize("action", [a for a in TRANSITIONS if a not in ("redact", "release_photos", "withhold_photos")])
@pytest.mark.parametrize(
    "status", ["received", "accepted", "in_progress", "resolved", "rejected", "forwarded", "merged"]
)
def test_each_action_is_allowed_only_from_its_statuses(setting, action, status):
    p = petition_in(setting["a"])
    p.status = status
    db.session.flush()
    details = {
        "reject": {"note": "Không thuộc thẩm quyền."},
        "resolve": {"answer": "Đã xử lý."},
        "forward": {"area_code": setting["b"]},
        "replace": {"note": "Sai thôn.", "village_code": None},
        "refer": {"agency": "UBND xã", "due_on": date.today() + timedelta(days=10)},
        "assign": {"assignee": setting["officer"].username},
    }.get(action, {})
    if action == "merge":
        details = {"into_code": petition_in(setting["a"], title="Đèn đường hỏng lần nữa").reference}
    if action == "replace":
        details["village_code"] = db.session.execute(
            text(
                "SELECT v.code FROM areas v JOIN areas c ON c.id = v.parent_id WHERE c.code = :c ORDER BY v.code DESC "
                "LIMIT 1"
            ),
            {"c": setting["a"]},
        ).scalar_one()
    actor = None if action == "reopen" else setting["officer"]
    if status in TRANSITIONS[action].sources:
        act(p, action, actor, **details)
        expected = TRANSITIONS[action].target or status
        assert p.status == expected
        assert history(p)[-1][0] == action
    else:
        with pytest.raises(WorkflowError) as refused:
            act(p, action, actor, **details)
        assert "Không thể" in refused.value.message
        assert p.status == status


@pytest.mark.parametrize(
    "action, details, message",
    [
        ("reject", {}, "Cần ghi lý do không thụ lý."),
        ("resolve", {"answer": "  "}, "Cần nội dung trả lời công dân."),
        ("forward", {"area_code": ""}, "Cần chọn nơi nhận."),
        (
            "forward",
            {"area_code": "99999"},
            "Không tìm thấy xã, phường hoặc tỉnh, thành phố nào có tên hoặc mã «99999».",
        ),
        ("merge", {"into_code": "AAA-AAA-AAA"}, "Không tìm thấy kiến nghị đang mở có mã này trong địa bàn của bạn."),
        ("replace", {"village_code": "46000001"}, "Cần ghi chú lý do đổi thôn, tổ dân phố."),
    ],
)
def test_actions_missing_what_they_need_are_refused_with_a_reason(setting, action, details, message):
    p = petition_in(setting["a"])
    if action == "resolve":
        act(p, "accept", setting["officer"])
    with pytest.raises(WorkflowError) as refused:
        act(p, action, setting["officer"], **details)
    assert refused.value.message == message


def test_forwarding_moves_the_petition_into_the_other_inbox(setting):
    from app.services import scope

    p = petition_in(setting["a"])
    act(p, "forward", setting["officer"], area_code=setting["b"], note="Thuộc địa bàn xã bên.")
    other = officer("commune", setting["b"])
    assert db.session.scalar(scope.petitions_visible_to(setting["officer"]).where(scope.Petition.id == p.id)) is None
    assert db.session.scalar(scope.petitions_visible_to(other).where(scope.Petition.id == p.id)) is p
    act(p, "accept", other)  # the receiving commune takes it on
    assert p.status == "accepted"


def test_forwarding_up_to_the_province(setting):
    p = petition_in(setting["a"])
    act(p, "forward", setting["officer"], area_code="46")
    assert p.assigned_area_id == p.province_id and p.status == "forwarded"


def test_merging_adds_the_supporters_to_the_petition_kept(setting):
    kept, duplicate = petition_in(setting["a"]), petition_in(setting["a"], title="Đèn đường lại hỏng")
    act(duplicate, "merge", setting["officer"], into_code=kept.reference)
    assert (duplicate.status, duplicate.merged_into_id, kept.supporters) == ("merged", kept.id, 2)


def test_a_referral_with_no_reply_by_its_date_is_marked(setting):
    p = petition_in(setting["a"])
    act(p, "accept", setting["officer"])
    act(p, "refer", setting["officer"], agency="Công ty Điện lực", due_on=date.today() + timedelta(days=5))
    referral = db.session.scalars(select(Referral).where(Referral.petition_id == p.id)).one()
    assert reminders.run()["no_reply"] == 0
    referral.due_on = date.today() - timedelta(days=1)
    db.session.flush()
    assert reminders.run()["no_reply"] == 1
    assert referral.no_reply_at is not None and history(p)[-1][0] == "referral_no_reply"


def test_an_overdue_petition_is_escalated_to_the_province_once(setting):
    p = petition_in(setting["a"])
    p.due_at = p.created_at - timedelta(days=1)
    db.session.flush()
    assert p.is_overdue
    assert reminders.run()["escalated"] == 1
    assert reminders.run()["escalated"] == 0  # safe to run twice
    told = {n.user_id for n in db.session.scalars(select(Notice).where(Notice.petition_id == p.id))}
    assert told == {setting["officer"].id, setting["province"].id}


def test_redaction_changes_what_the_public_sees_and_keeps_the_original(setting, client):
    p = petition_in(setting["a"], body="Ông Nguyễn Văn X số nhà 12 lấn chiếm đường đi.")
    act(
        p,
        "redact",
        setting["officer"],
        note="Che thông tin cá nhân.",
        public_title="Lấn chiếm đường đi",
        public_body="Một hộ dân lấn chiếm đường đi.",
    )
    page = client.get(f"/petitions/{p.display_code}").get_data(as_text=True)
    assert "Một hộ dân lấn chiếm đường đi." in page and "Nguyễn Văn X" not in page
    assert p.body == "Ông Nguyễn Văn X số nhà 12 lấn chiếm đường đi."
    assert history(p)[-1] == ("redact", "received", None)


def test_an_unsatisfied_rating_reopens_the_petition_with_the_rating_shown(setting):
    from app.services.petitions import rate

    p = petition_in(setting["a"])
    act(p, "accept", setting["officer"])
    act(p, "resolve", setting["officer"], answer="Đã xử lý xong.")
    rate(p, False, "Vẫn còn tối.")
    assert p.status == "in_progress" and p.satisfied is False
    assert [h[0] for h in history(p)][-2:] == ["rated", "reopen"]


def test_an_answer_writes_the_citizen_s_notice_through_the_queue_once(setting, app, monkeypatch):
    from app.jobs.tasks import notify_citizen

    monkeypatch.setitem(app.config, "SMS_GATEWAY_URL", "http://127.0.0.1:9/sms")  # delivery: test_notices
    p = petition_in(setting["a"])
    act(p, "accept", setting["officer"])
    act(p, "resolve", setting["officer"], answer="Đã xử lý.")
    job = db.session.scalars(select(OutboxJob).where(OutboxJob.job == "notify_citizen")).one()
    notify_citizen(job.id, *job.args)
    notify_citizen(job.id, *job.args)  # safe to run twice
    [notice] = db.session.scalars(select(Notice).where(Notice.petition_id == p.id)).all()
    assert (notice.channel, notice.recipient, notice.status) == ("sms", "0912345678", "pending")
    assert p.display_code not in notice.body  # the tracking code is rendered only into what is sent
    assert db.session.scalars(select(OutboxJob).where(OutboxJob.job == "deliver_notice")).one().args == [notice.id]


def test_audit_rows_cannot_be_changed_or_deleted(setting):
    p = petition_in(setting["a"])
    for statement in (
        "UPDATE audit_events SET note = 'sửa' WHERE petition_id = :p",
        "DELETE FROM audit_events WHERE petition_id = :p",
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            with db.session.begin_nested():
                db.session.execute(text(statement), {"p": p.id})


def test_a_new_petition_is_due_in_three_working_days(setting):
    from app.services.workdays import working_days_between

    p = petition_in(setting["a"])
    holidays = set(db.session.scalars(text("SELECT day FROM holidays")))
    assert working_days_between(p.created_at, p.due_at, holidays) == 3


def test_a_process_started_just_after_the_machine_booted_still_sets_deadlines(setting, monkeypatch):
    # The monotonic clock counts from boot: a web node restarted in the first
    # minutes after a reboot once took its never-loaded cache for a fresh one.
    import importlib
    from types import SimpleNamespace

    from app.services import categories, deadlines

    just_booted = SimpleNamespace(monotonic=lambda: 42.0)
    for module in (deadlines, categories):
        monkeypatch.setattr(module, "_cache", importlib.reload(module)._cache)
        monkeypatch.setattr(module, "time", just_booted)
    assert [code for code, *_ in categories.active()]
    assert petition_in(setting["a"]).due_at is not None


def test_the_actions_offered_follow_the_status(setting):
    p = petition_in(setting["a"])
    assert allowed_actions(p)[:2] == ["accept", "reject"] and "resolve" not in allowed_actions(p)


def test_a_backlog_larger_than_a_batch_is_escalated_run_after_run(setting):
    late = [petition_in(setting["a"]) for _ in range(3)]
    for p in late:
        p.due_at = p.created_at - timedelta(days=1)
    db.session.flush()
    assert [reminders.run(batch=2)["escalated"] for _ in range(3)] == [2, 1, 0]
    assert all(history(p)[-1][0] == "escalated" for p in late)


def test_an_overdue_petition_in_an_inbox_without_officers_is_escalated_once_too(app_ctx):
    p = petition_in(slice_communes(3)[2])  # no officer anywhere in this test
    p.due_at = p.created_at - timedelta(days=1)
    db.session.flush()
    assert [reminders.run()["escalated"] for _ in range(2)] == [1, 0]


def test_re_placing_into_another_province_moves_the_petition_s_province_too(setting):
    # Central staff see every area; the province decides who else sees the petition and where maps count it.
    import_features(mini_geography(), "2025")
    p = petition_in(setting["a"])
    act(p, "replace", officer("central"), note="Sai tỉnh.", village_code="99001002")
    placed = db.session.execute(
        text(
            "SELECT v.code, c.code, pr.code FROM petitions p JOIN areas v ON v.id = p.village_id "
            "JOIN areas c ON c.id = p.commune_id JOIN areas pr ON pr.id = p.province_id WHERE p.id = :id"
        ),
        {"id": p.id},
    ).one()
    assert tuple(placed) == ("99001002", "99001", "99")


def test_photos_are_released_and_withheld_only_when_that_changes_something(setting):
    from app.models import PetitionPhoto

    p = petition_in(setting["a"])
    officer_ = setting["officer"]
    assert "release_photos" not in allowed_actions(p)  # no photos to release
    with pytest.raises(WorkflowError):
        act(p, "release_photos", officer_)
    db.session.add(PetitionPhoto(petition_id=p.id, position=0, status="ready"))
    db.session.flush()
    db.session.refresh(p)
    assert "release_photos" in allowed_actions(p) and "withhold_photos" not in allowed_actions(p)
    act(p, "release_photos", officer_)
    assert p.photos_released and allowed_actions(p).count("withhold_photos") == 1
    act(p, "withhold_photos", officer_)
    assert not p.photos_released
