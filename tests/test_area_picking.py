"""Officers name places by typing them: forwarding to a commune and re-placing in a village by name,
diacritics ignored, with a choice to make when a name is shared — no JavaScript needed."""

from __future__ import annotations

import re

import pytest

from app.extensions import db
from app.geodata.importer import import_features
from app.services.workflow import AreaChoice, WorkflowError, act
from tests.factories import csrf_token, log_in, mini_geography, officer, petition_in

FROM = "17594"  # Phường Đại Đức, where the petitions start


@pytest.fixture
def here(app_ctx):
    return {"officer": officer("commune", FROM), "petition": petition_in(FROM)}


def inbox_of(petition) -> str:
    from app.models import Area

    return db.session.get(Area, petition.assigned_area_id).code


def test_forwarding_by_a_name_typed_without_diacritics(here):
    act(here["petition"], "forward", here["officer"], area_code="phong hoa")
    assert inbox_of(here["petition"]) == "17600"  # Phường Phong Hòa


def test_a_shared_name_asks_which_one_with_each_commune_s_province(here):
    with pytest.raises(AreaChoice) as asked:
        act(here["petition"], "forward", here["officer"], area_code="Hòa")
    labels = [c.label for c in asked.value.choices]
    assert "Phường Phong Hòa — Thành phố Huế" in labels and "Xã Bảo Hòa — Thành phố Huế" in labels
    assert labels.index("Xã Bảo Hòa — Thành phố Huế") < labels.index(
        "Xã Hoàng Sơn — Thành phố Huế"
    )  # whole words first
    db.session.rollback()
    chosen = next(c for c in asked.value.choices if c.label.startswith("Xã Bảo Hòa"))
    act(here["petition"], "forward", here["officer"], area_code=chosen.code)
    assert inbox_of(here["petition"]) == chosen.code


def test_a_commune_of_another_province_is_refused_with_the_reason(here):
    import_features(mini_geography(), "2025")
    with pytest.raises(WorkflowError, match="trong tỉnh của mình"):
        act(here["petition"], "forward", here["officer"], area_code="Tây Sơn")


def test_a_name_that_matches_nothing_says_so(here):
    with pytest.raises(WorkflowError, match="Không tìm thấy xã, phường hoặc tỉnh, thành phố nào"):
        act(here["petition"], "forward", here["officer"], area_code="Atlantis")


def test_re_placing_in_a_village_by_its_name_within_the_officer_s_commune(here):
    act(here["petition"], "replace", here["officer"], note="Công dân gọi điện báo lại", village_code="to dan pho 2")
    assert here["petition"].village.code == "17594002"


def test_a_village_of_another_commune_is_not_found_by_name(here):
    with pytest.raises(WorkflowError, match="Không tìm thấy thôn"):
        act(here["petition"], "replace", here["officer"], note="x", village_code="Thôn Cầu")  # in Phong Hòa only


def test_without_javascript_the_officer_picks_among_the_shared_names_and_forwards(client, here):
    log_in(client, here["officer"])
    page = f"/officer/petitions/{here['petition'].id}"
    fields = {"csrf_token": csrf_token(client, page), "action": "forward", "version": here["petition"].version}
    asked = client.post(f"{page}/act", data={**fields, "area_code": "hoa"})
    html = asked.get_data(as_text=True)
    assert asked.status_code == 422 and "hãy chọn một" in html
    assert "Field cannot be longer" not in html  # a name is no longer refused for its length
    code = re.search(r'name="area_code" id="area-forward-(\d+)" value="\1"[^>]*>\s*<label[^>]*>Phường Phong Hòa', html)
    assert code, html[html.find("area-choices") - 200 : html.find("area-choices") + 1500]
    done = client.post(f"{page}/act", data={**fields, "area_code": code.group(1)})
    assert done.status_code == 303
    db.session.refresh(here["petition"])
    assert inbox_of(here["petition"]) == "17600"
