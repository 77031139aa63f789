"""A provincial officer keeps the village register in headless Chromium: export, upload, fix a line, apply."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import text

from app.extensions import db
from tests.conftest import ARTIFACTS, log_in_as_province

pytestmark = pytest.mark.browser


def last_commune_and_a_free_point(live_server, seed: int) -> tuple[str, str, float, float]:
    """The slice's last commune (no other browser test places petitions there) and a point inside it."""
    with live_server.app_context():
        row = db.session.execute(
            text(
                """SELECT c.code, c.unit_type || ' ' || c.name, ST_Y(p.geom), ST_X(p.geom)
                   FROM areas c CROSS JOIN LATERAL ST_Dump(ST_GeneratePoints(c.geom, 1, :seed)) p
                   WHERE c.level = 'commune' ORDER BY c.code DESC LIMIT 1"""
            ),
            {"seed": seed},
        ).one()
        db.session.remove()
    return row


def test_a_provincial_officer_uploads_a_list_reads_the_preview_fixes_a_line_and_applies(page, live_server, tmp_path):
    code, name, lat, lon = last_commune_and_a_free_point(live_server, page.width)
    log_in_as_province(page, live_server)
    page.click("text=Sổ thôn")
    page.select_option("#commune", code)
    page.click("#commune-choice button")
    villages_before = page.locator("#villages tbody tr").count()

    # The officer's own export of the commune, in Excel's CSV, with a new village typed at the end.
    exported = page.request.get(f"{live_server.config['LIVE_URL']}/officer/villages/export.csv?commune={code}")
    assert exported.ok and exported.body().startswith(b"\xef\xbb\xbf")
    rows = exported.body().decode("utf-8-sig").rstrip("\r\n")
    new_line = villages_before + 2  # the heading is line 1
    typo = tmp_path / "so-thon.csv"
    typo.write_text(
        rows + f"\r\n{code},,,Hòa Bình {page.width},Tổ dân phố,{lat:.6f},{lon:.6f},hai trăm\r\n", "utf-8-sig"
    )
    page.set_input_files("#file", str(typo))
    page.click("#upload-form button[type=submit]")

    refused = page.locator(f"#line-{new_line}")
    expect(refused).to_contain_text("Dân số «hai trăm» không phải là một số nguyên.")
    expect(page.locator("#refused")).to_contain_text("chưa có gì được ghi")
    expect(page.locator("#apply")).to_have_count(0)
    page.screenshot(path=str(ARTIFACTS / f"villages-preview-refused-{page.width}.png"), full_page=True)

    fixed = tmp_path / "so-thon-da-sua.csv"
    fixed.write_text(rows + f"\r\n{code},,,Hòa Bình {page.width},Tổ dân phố,{lat:.6f},{lon:.6f},200\r\n", "utf-8-sig")
    page.set_input_files("#file", str(fixed))
    page.click("#upload-form button[type=submit]")
    expect(page.locator(f"#line-{new_line}")).to_contain_text("Thêm")
    expect(page.locator("#summary")).to_contain_text(f"Không đổi: {villages_before}")
    page.screenshot(path=str(ARTIFACTS / f"villages-preview-{page.width}.png"), full_page=True)
    page.click("#apply")

    expect(page.locator("#applied")).to_contain_text("1 thay đổi")
    page.goto(f"{live_server.config['LIVE_URL']}/officer/villages/?commune={code}")
    expect(page.locator("#villages")).to_contain_text(f"Tổ dân phố Hòa Bình {page.width}")
    expect(page.locator("#villages tbody tr")).to_have_count(villages_before + 1)
    page.screenshot(path=str(ARTIFACTS / f"villages-register-{page.width}.png"), full_page=True)
    assert page.outside_requests == []
    assert name  # the commune's name is what the officer chose it by
