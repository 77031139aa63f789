"""What an officer reads in a report and an export: named villages, a weekly chart with axes, Vietnamese CSV."""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import text

from app.extensions import db
from app.services import trend_chart
from tests.factories import log_in, officer, petition_in

# Two residential groups of the test slice share a name: "Tổ dân phố 1" of Phường Đại Đức and of Phường Hiệp Phú.
DAI_DUC_1, HIEP_PHU_1 = "17594001", "17597001"


def filed_at(petition, moment: datetime) -> None:
    db.session.execute(text("UPDATE petitions SET created_at = :t WHERE id = :id"), {"t": moment, "id": petition.id})


def report_page(client, query: str = "") -> str:
    log_in(client, officer("province", "46"))
    response = client.get(f"/officer/report{query}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_report_s_top_villages_name_their_commune(client, app_ctx):
    for _ in range(3):
        petition_in(DAI_DUC_1)
    for _ in range(2):
        petition_in(HIEP_PHU_1)
    html = report_page(client)
    top = re.search(r'<ol id="top-villages">(.*?)</ol>', html, re.S).group(1)
    items = [re.sub(r"<[^>]+>", "", li).strip() for li in re.findall(r"<li>(.*?)</li>", top, re.S)]
    assert items[:2] == [
        "Tổ dân phố 1 — Phường Đại Đức: 3 kiến nghị",
        "Tổ dân phố 1 — Phường Hiệp Phú: 2 kiến nghị",
    ]


def trend_svg(html: str) -> ET.Element:
    svg = re.search(r'<svg class="trend-chart".*?</svg>', html, re.S).group(0)
    return ET.fromstring(svg)


def test_the_weekly_trend_has_week_dates_counts_and_its_peak_in_vietnam_time(client, app_ctx):
    # Weeks start on Monday in Vietnam (UTC+7): Sunday 1 March 2026 17:30 UTC is Monday 2 March 00:30 there.
    moments = [
        datetime(2026, 3, 1, 16, 30, tzinfo=UTC),  # Sunday 23:30 in Vietnam: the week of 23/02
        datetime(2026, 3, 1, 17, 30, tzinfo=UTC),  # the week of 02/03
        datetime(2026, 3, 4, 3, 0, tzinfo=UTC),
        datetime(2026, 3, 8, 16, 0, tzinfo=UTC),  # Sunday 8 March 23:00 in Vietnam, still the week of 02/03
        datetime(2026, 3, 17, 9, 0, tzinfo=UTC),  # the week of 16/03; the week of 09/03 has none
        datetime(2026, 3, 20, 9, 0, tzinfo=UTC),
    ]
    for moment in moments:
        filed_at(petition_in(DAI_DUC_1), moment)
    svg = trend_svg(report_page(client, "?since=2026-02-23&until=2026-03-22"))

    assert svg.get("role") == "img" and svg.find("title").text == "Số kiến nghị nhận mỗi tuần (giờ Việt Nam)"
    assert "cao nhất 3 kiến nghị trong tuần 02/03/2026" in svg.find("desc").text
    x_axis = [t.text for t in svg.find("g[@class='x-axis']").iter("text")]
    assert x_axis[:-1] == ["23/02", "2026", "02/03", "09/03", "16/03"]
    assert "Tuần" in x_axis[-1]  # the axis title
    y_axis = [t.text for t in svg.find("g[@class='y-axis']").iter("text")]
    assert y_axis == ["0", "1", "2", "3", "Số kiến nghị"]
    bars = {r.find("title").text: float(r.get("height")) for r in svg.find("g[@class='bars']").iter("rect")}
    assert list(bars) == [
        "Tuần từ 23/02/2026: 1 kiến nghị",
        "Tuần từ 02/03/2026: 3 kiến nghị",
        "Tuần từ 09/03/2026: 0 kiến nghị",
        "Tuần từ 16/03/2026: 2 kiến nghị",
    ]
    heights = list(bars.values())
    assert heights[2] == 0 and heights[1] == pytest.approx(3 * heights[0], abs=0.2) == pytest.approx(1.5 * heights[3])
    assert svg.find("text[@class='peak']").text == "3"


def test_a_report_without_petitions_says_so_instead_of_an_empty_chart(client, app_ctx):
    html = report_page(client, "?since=2001-01-01&until=2001-01-31")
    assert "trend-chart" not in html
    assert "Không có kiến nghị nào trong khoảng thời gian này." in html


def test_the_count_axis_has_round_ticks_that_reach_the_peak():
    today = date(2026, 6, 1)
    for peak, ticks in ((1, [0, 1]), (4, [0, 1, 2, 3, 4]), (7, [0, 2, 4, 6, 8]), (23, [0, 5, 10, 15, 20, 25])):
        chart = trend_chart.chart([(date(2026, 3, 2), peak)], today)
        assert [t.value for t in chart.ticks] == ticks
    many = trend_chart.chart([(date(2025, 1, 6), 1), (date(2026, 3, 2), 2)], today)  # 61 weeks
    assert len(many.bars) == 61
    gaps = [b.x - a.x for a, b in zip(many.labels, many.labels[1:], strict=False)]
    assert min(gaps) >= trend_chart.LABEL_ROOM - 1  # the week labels never overlap
    assert [label.year for label in many.labels if label.year] == ["2025", "2026"]


def csv_rows(client, query: str = "") -> tuple[list[str], list[dict]]:
    raw = client.get(f"/officer/export.csv{query}").get_data()
    assert raw.startswith(b"\xef\xbb\xbf")  # the byte-order mark Excel needs to read UTF-8
    reader = csv.DictReader(io.StringIO(raw.decode("utf-8-sig")))
    return reader.fieldnames, list(reader)


HEADERS = [
    "Mã kiến nghị",
    "Thời điểm gửi (giờ Việt Nam)",
    "Trạng thái",
    "Lĩnh vực",
    "Tiêu đề",
    "Nội dung",
    "Mã thôn",
    "Thôn, tổ dân phố",
    "Mã xã",
    "Xã, phường",
    "Mã tỉnh",
    "Tỉnh, thành phố",
    "Cách định vị",
    "Kinh độ",
    "Vĩ độ",
    "Số người cùng kiến nghị",
    "Hạn xử lý (giờ Việt Nam)",
    "Kênh tiếp nhận",
]


def test_csv_export_is_in_vietnamese_with_vietnam_times(client, app_ctx):
    from app.services.workflow import act

    late_evening = petition_in(DAI_DUC_1, category="power_water")
    filed_at(late_evening, datetime(2026, 3, 1, 23, 30, tzinfo=UTC))
    accepted = petition_in(HIEP_PHU_1)
    province = officer("province", "46")
    act(accepted, "accept", province)
    db.session.flush()
    due = db.session.execute(text("SELECT due_at FROM petitions WHERE id = :id"), {"id": accepted.id}).scalar()

    log_in(client, province)
    for query in ("", "?lang=en"):  # the same Vietnamese file whatever the officer's language
        headers, rows = csv_rows(client, query)
        assert headers == HEADERS
        by_reference = {r["Mã kiến nghị"]: r for r in rows}
        night = by_reference[late_evening.reference]
        assert night["Thời điểm gửi (giờ Việt Nam)"] == "2026-03-02T06:30:00+07:00"
        assert night["Trạng thái"] == "Đã tiếp nhận"
        assert night["Lĩnh vực"] == "Điện, nước"
        assert night["Kênh tiếp nhận"] == "Cổng trực tuyến"
        assert night["Cách định vị"] == "Công dân tự chọn"
        assert night["Thôn, tổ dân phố"] == "Tổ dân phố 1" and night["Xã, phường"] == "Phường Đại Đức"
        other = by_reference[accepted.reference]
        assert other["Trạng thái"] == "Đã thụ lý" and other["Lĩnh vực"] == "Giao thông, hạ tầng"
        expected_due = due.astimezone(UTC).replace(microsecond=0)
        assert datetime.fromisoformat(other["Hạn xử lý (giờ Việt Nam)"]) == expected_due
        assert other["Hạn xử lý (giờ Việt Nam)"].endswith("+07:00")
        assert not any(code in r.values() for r in rows for code in ("received", "roads", "power_water", "web"))

    headers, _ = csv_rows(client, "?contact=1")
    assert headers == [*HEADERS, "Họ tên người gửi", "Điện thoại"]


def test_geojson_export_keeps_codes_and_adds_names_with_vietnam_times(client, app_ctx):
    petition = petition_in(DAI_DUC_1)
    filed_at(petition, datetime(2026, 3, 1, 23, 30, tzinfo=UTC))
    log_in(client, officer("province", "46"))
    collection = json.loads(client.get("/officer/export.geojson?lang=en").get_data(as_text=True))
    [feature] = [f for f in collection["features"] if f["properties"]["reference"] == petition.reference]
    props = feature["properties"]
    assert (props["status"], props["status_name"]) == ("received", "Đã tiếp nhận")
    assert (props["category_code"], props["category_name"]) == ("roads", "Giao thông, hạ tầng")
    assert (props["channel"], props["channel_name"]) == ("web", "Cổng trực tuyến")
    assert (props["geotag_method"], props["geotag_method_name"]) == ("chosen", "Công dân tự chọn")
    assert props["created_at"] == "2026-03-02T06:30:00+07:00"
    assert feature["geometry"] is None  # placed by the picker: no point


def test_a_large_export_built_by_the_job_is_the_same_file_as_the_streamed_one(app, client, app_ctx, monkeypatch):
    from rq import SimpleWorker

    from app.redis_conn import redis

    for moment in (datetime(2026, 3, 1, 23, 30, tzinfo=UTC), datetime(2026, 3, 2, 1, 0, tzinfo=UTC)):
        filed_at(petition_in(DAI_DUC_1), moment)
    log_in(client, officer("province", "46"))
    streamed = client.get("/officer/export.csv").get_data()
    monkeypatch.setitem(app.config, "EXPORT_SYNC_MAX", 1)
    progress = client.get("/officer/export.csv?lang=en").headers["Location"]
    SimpleWorker(["default"], connection=redis()).work(burst=True)
    download = re.search(r'id="download" href="([^"]+)"', client.get(progress).get_data(as_text=True)).group(1)
    built = client.get(download).get_data()
    assert built == streamed
    rows = list(csv.DictReader(io.StringIO(built.decode("utf-8-sig"))))
    assert {r["Thời điểm gửi (giờ Việt Nam)"] for r in rows} == {
        "2026-03-02T06:30:00+07:00",
        "2026-03-02T08:00:00+07:00",
    }
    assert {r["Trạng thái"] for r in rows} == {"Đã tiếp nhận"}


@pytest.mark.parametrize(
    "title",
    [' =HYPERLINK("http://x")', "\n=1+1", "\u00a0@SUM(A1)", "\u200b+cmd", "\uff1dHYPERLINK(1)", "\t-2+3"],
)
def test_a_formula_hidden_behind_invisible_characters_stays_text_in_the_csv(client, app_ctx, title):
    petition = petition_in(DAI_DUC_1, title=title)
    log_in(client, officer("province", "46"))
    _, rows = csv_rows(client)
    cell = next(r for r in rows if r["Mã kiến nghị"] == petition.reference)["Tiêu đề"]
    assert cell == "'" + title  # a spreadsheet shows it as typed and never runs it
