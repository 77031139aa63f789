"""A category's own questions: asked on the form with its notice, required where they are, kept with the
petition, shown to the officer, and Open311 service definitions that a partner's POST must satisfy."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Petition
from app.services import partners
from tests.factories import log_in, officer, submit_petition

JSON = {"Accept": "application/json"}
V2 = "/open311/v2"


def test_the_form_asks_the_category_s_question_and_shows_its_notice(client, app_ctx):
    page = client.get("/petitions/new").get_data(as_text=True)
    assert 'id="questions-public_order"' in page and "Có ai đang gặp nguy hiểm ngay lúc này không?" in page
    assert "cháy, nổ: 114" in page


def test_a_required_question_left_unanswered_is_refused_with_a_message_and_the_text_kept(client, app_ctx):
    response = submit_petition(client, category="public_order")
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "Hãy trả lời: Có ai đang gặp nguy hiểm ngay lúc này không?" in html
    assert "Đường làng ngập nước" in html and db.session.scalars(select(Petition)).all() == []
    as_json = submit_petition(client, category="public_order", headers=JSON)
    assert as_json.status_code == 422 and "q_danger_now" in as_json.json["errors"]


def test_the_answers_are_kept_and_shown_to_the_officer(client, app_ctx):
    response = submit_petition(client, category="public_order", q_danger_now="yes")
    assert response.status_code == 303
    petition = db.session.scalars(select(Petition)).one()
    assert petition.category_answers == {"danger_now": "yes"}
    log_in(client, officer("province", "46"))
    page = client.get(f"/officer/petitions/{petition.id}").get_data(as_text=True)
    assert "Có ai đang gặp nguy hiểm ngay lúc này không?" in page and '<dd class="category-answer">Có</dd>' in page


def test_a_choice_not_offered_is_refused(client, app_ctx):
    response = submit_petition(client, category="environment", q_pollution="phong-xa")
    assert response.status_code == 422 and "hãy chọn một trong các ý đã cho" in response.get_data(as_text=True)


def test_a_category_that_asks_nothing_more_is_unchanged(client, app_ctx):
    assert submit_petition(client, category="roads").status_code == 303


@pytest.fixture
def partner_key(app_ctx):
    return partners.create("doi-tac-hoi", "1000 per minute")[1]


def test_open311_lists_the_question_as_the_service_definition_s_attribute(client, partner_key):
    services = {s["service_code"]: s for s in client.get(f"{V2}/services.json").json}
    assert services["public_order"]["metadata"] is True and services["roads"]["metadata"] is False
    definition = client.get(f"{V2}/services/public_order.json").json
    [attribute] = definition["attributes"]
    assert attribute["code"] == "danger_now" and attribute["required"] is True
    assert attribute["datatype"] == "singlevaluelist" and [v["key"] for v in attribute["values"]] == ["yes", "no"]


def test_a_partner_s_post_without_the_required_attribute_is_a_400_in_the_spec_s_form(client, partner_key):
    data = {"service_code": "public_order", "description": "Đánh nhau trước cổng chợ\nNhiều người tụ tập.",
            "address_id": "46"}  # fmt: skip
    refused = client.post(f"{V2}/requests.json", data=data, headers={"X-Api-Key": partner_key})
    assert refused.status_code == 400
    assert any(e["code"] == 400 and "attribute[danger_now]" in e["description"] for e in refused.json)
    taken = client.post(
        f"{V2}/requests.json", data={**data, "attribute[danger_now]": "no"}, headers={"X-Api-Key": partner_key}
    )
    assert taken.status_code == 201
    assert db.session.scalars(select(Petition.category_answers)).one() == {"danger_now": "no"}


def test_an_operator_makes_a_category_ask_more_and_the_form_and_open311_follow_at_once(runner, client, partner_key):
    question = ["--kind", "number", "--label", "Mất điện bao nhiêu giờ?", "--required"]
    made = runner.invoke(args=["categories", "ask", "power_water", "outage_hours", *question])
    assert made.exit_code == 0, made.output
    assert "Mất điện bao nhiêu giờ?" in client.get("/petitions/new").get_data(as_text=True)
    [attribute] = client.get(f"{V2}/services/power_water.json").json["attributes"]
    assert (attribute["code"], attribute["datatype"], attribute["required"]) == ("outage_hours", "number", True)
    refused = submit_petition(client, category="power_water", q_outage_hours="mười")
    assert refused.status_code == 422 and "cần một con số" in refused.get_data(as_text=True)
    assert submit_petition(client, category="power_water", q_outage_hours="12").status_code == 303
    assert db.session.scalars(select(Petition.category_answers)).one() == {"outage_hours": 12}
    retired = runner.invoke(args=["categories", "retire", "power_water", "outage_hours"])
    assert retired.exit_code == 0 and "Mất điện bao nhiêu giờ?" not in client.get("/petitions/new").get_data(
        as_text=True
    )


@pytest.mark.parametrize(
    "args, says",
    [
        (["roads", "Bad-Code", "--kind", "yesno", "--label", "x"], "lowercase"),
        (["roads", "kind", "--kind", "list", "--label", "Loại", "--option", "a=A"], "at least two options"),
        (["nope", "x", "--kind", "yesno", "--label", "x"], "no category"),
        (["public_order", "danger_now", "--kind", "yesno", "--label", "x"], "already asks"),
    ],
)
def test_a_question_that_cannot_work_is_refused_with_the_reason(runner, app_ctx, args, says):
    result = runner.invoke(args=["categories", "ask", *args])
    assert result.exit_code == 1 and says in result.output
