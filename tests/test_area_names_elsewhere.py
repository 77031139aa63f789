"""Areas by name where officers and operators used to need a code: an officer's account (one or an
import) and an agency's area — a shared name answered with its choices and their codes."""

from __future__ import annotations

import io

from sqlalchemy import select

from app.extensions import db
from app.models import Agency, User
from app.services import accounts


def test_an_import_takes_a_commune_s_name_and_lists_the_choices_of_a_shared_one(app_ctx):
    source = (
        "username,role,area_code,full_name\n"
        "la.xa.a,commune,phong hoa,Lê A\nla.xa.b,commune,Hòa,Lê B\nla.tinh,province,Huế,Lê C\n"
    )
    result = accounts.import_officers_csv(io.StringIO(source))
    assert result.created == 2
    made = {u.username: u.area.code for u in db.session.scalars(select(User).where(User.username.like("la.%")))}
    assert made == {"la.xa.a": "17600", "la.tinh": "46"}
    [(line, message)] = result.errors
    assert line == 3 and "Phường Phong Hòa — Thành phố Huế (17600)" in message and "Hãy ghi mã" in message


def test_one_account_made_by_the_command_takes_an_area_s_name(runner, app_ctx):
    result = runner.invoke(
        args=["officers", "create", "--role", "commune", "--area", "Đại Đức", "--username", "can.bo.ten"],
        input="mot-mat-khau-du-dai-2026\n",
    )
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(User).where(User.username == "can.bo.ten")).area.code == "17594"


def test_an_agency_s_area_by_name_and_a_shared_name_refused_with_its_codes(runner, app_ctx):
    made = runner.invoke(args=["agencies", "add", "Điện lực Phong Hòa", "--area", "phong hoa", "--channel", "none"])
    assert made.exit_code == 0, made.output
    assert db.session.scalar(select(Agency)).area.code == "17600"
    shared = runner.invoke(args=["agencies", "add", "Sở X", "--area", "hoa", "--channel", "none"])
    assert shared.exit_code == 1 and "17600" in shared.output and "Phường Phong Hòa" in shared.output


def test_provincial_staff_narrow_the_inbox_to_a_commune_typed_by_name(client, app_ctx):
    from tests.factories import log_in, officer, petition_in, slice_communes

    here, there = slice_communes(2)
    petition_in(here, title="Ở Đại Đức")
    petition_in(there, title="Ở Hiệp Phú")
    log_in(client, officer("province", "46"))
    page = client.get("/officer/?commune=hiep+phu").get_data(as_text=True)
    assert "Ở Hiệp Phú" in page and "Ở Đại Đức" not in page
    shared = client.get("/officer/?commune=hoa").get_data(as_text=True)
    assert 'id="commune-choices"' in shared and "commune=17600" in shared
    assert "Ở Đại Đức" in shared  # not narrowed until one is chosen
