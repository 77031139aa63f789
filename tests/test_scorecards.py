"""The communes' public scorecards and their way in: found by name or by province, honest about comparisons."""

from __future__ import annotations

import re

from app.services import areas
from app.text import fold
from tests.factories import officer, petition_in

PHONG_HOA = "17600"  # Phường Phong Hòa, Thành phố Huế, in the test slice


def listed(html: str, list_id: str) -> list[str]:
    block = re.search(rf'<ul[^>]*id="{list_id}"[^>]*>(.*?)</ul>', html, re.S)
    return (
        [
            re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", li)).strip()
            for li in re.findall(r"<li>(.*?)</li>", block.group(1), re.S)
        ]
        if block
        else []
    )


def test_the_home_page_leads_to_the_public_map_and_the_scorecards(client):
    html = client.get("/").get_data(as_text=True)
    main = html[html.index("<main") : html.index("</main>")]  # in the page itself, not only the footer
    assert 'id="home-map" href="/map"' in main and 'id="home-scorecards" href="/scorecards"' in main
    footer = html[html.index("<footer") :]
    assert 'href="/map"' in footer and 'href="/scorecards"' in footer


def test_typing_a_name_without_diacritics_finds_the_commune(client):
    for typed in ("phong hoa", "PHONG HOÀ", "Phong Hòa", "  phong   hoa "):
        html = client.get("/scorecards", query_string={"q": typed}).get_data(as_text=True)
        assert listed(html, "search-results")[0] == "Phường Phong Hòa — Thành phố Huế", typed
        assert f'href="/scorecard/{PHONG_HOA}"' in html


def test_a_search_lists_the_best_matches_first_and_says_when_there_are_more(client, monkeypatch):
    html = client.get("/scorecards?q=hoa").get_data(as_text=True)
    assert listed(html, "search-results") == [
        "Xã Bảo Hòa — Thành phố Huế",  # the word "hoa" earliest in "xa bao hoa"
        "Phường Tân Hòa — Thành phố Huế",
        "Phường Phong Hòa — Thành phố Huế",
        "Xã Hoàng Sơn — Thành phố Huế",  # a part of a word after the whole words
    ]
    monkeypatch.setattr(areas, "SEARCH_RESULTS", 5)
    html = client.get("/scorecards?q=phuong").get_data(as_text=True)
    assert len(listed(html, "search-results")) == 5 and 'id="search-more"' in html


def test_a_search_within_a_province_and_the_province_s_list(client):
    html = client.get("/scorecards?province=46").get_data(as_text=True)
    communes = listed(html, "communes")
    assert len(communes) == 40 and "Phường Phong Hòa" in communes
    names = [fold(c.split(" ", 1)[1]) for c in communes]  # by name, whatever the unit type
    assert names == sorted(names) and names[:2] == ["bao hoa", "bao my"]
    html = client.get("/scorecards?province=46&q=phong").get_data(as_text=True)
    assert listed(html, "search-results") == ["Xã Phong Khánh — Thành phố Huế", "Phường Phong Hòa — Thành phố Huế"]
    index = client.get("/scorecards").get_data(as_text=True)
    assert listed(index, "provinces") == ["Thành phố Huế"] and 'href="/scorecards?province=46"' in index


def test_odd_searches_get_a_clear_answer(client):
    short = client.get("/scorecards?q=a")
    assert short.status_code == 200 and "Hãy gõ ít nhất 2 chữ cái" in short.get_data(as_text=True)
    for wildcard in ("%%", "__", "\\\\"):  # LIKE's wildcards are taken literally: they match no name
        html = client.get("/scorecards", query_string={"q": wildcard}).get_data(as_text=True)
        assert listed(html, "search-results") == [] and "Không tìm thấy xã, phường nào" in html
    markup = client.get("/scorecards", query_string={"q": "<script>alert(1)</script>"}).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in markup and "&lt;script&gt;" in markup
    too_long = client.get("/scorecards", query_string={"q": "x" * 101})
    assert too_long.status_code == 400 and "q dài quá 100 ký tự" in too_long.get_data(as_text=True)
    assert client.get("/scorecards?q=phong&q=hoa").status_code == 400
    assert client.get("/scorecards?province=99").status_code == 404  # no such province
    assert client.get(f"/scorecards?province={PHONG_HOA}").status_code == 404  # a commune, not a province


def test_the_scorecards_are_rate_limited_per_client(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "SCORECARD_LIMIT", "2 per minute")
    codes = [client.get("/scorecards?q=phong").status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    assert client.get("/scorecards?q=phong", environ_base={"REMOTE_ADDR": "10.0.0.9"}).status_code == 200
    assert [client.get(f"/scorecard/{PHONG_HOA}").status_code for _ in range(3)] == [200, 200, 429]


def test_the_scorecard_says_what_can_be_compared_and_shows_its_channels(client, app_ctx):
    html = client.get(f"/scorecard/{PHONG_HOA}").get_data(as_text=True)
    assert 'id="too-few"' in html and 'id="channels"' not in html
    assert "Số kiến nghị không đo mức độ vấn đề của địa bàn." in html  # said even before there are figures

    for _ in range(6):
        petition_in(PHONG_HOA)
    for _ in range(2):
        petition_in(PHONG_HOA, channel="paper")
    html = client.get(f"/scorecard/{PHONG_HOA}").get_data(as_text=True)
    assert re.search(r'id="received">8<', html)
    rows = re.findall(
        r'<tr><th scope="row">([^<]+)</th>(.*?)</tr>', re.search(r'id="channels".*?</table>', html, re.S).group(0)
    )
    cells = {name: re.sub(r"<[^>]+>", " ", rest).split() for name, rest in rows}
    # 2 paper petitions are hidden, and so are the 6 online: else 8 − 6 would tell the 2
    assert cells == {"Cổng trực tuyến": ["không", "công", "bố"], "Đơn giấy": ["không", "công", "bố"]}
    comparability = re.search(r'id="comparability".*?</section>', html, re.S).group(0)
    assert "đơn giấy" in comparability and "tỷ lệ trả lời đúng hạn và số ngày trả lời" in comparability
    assert re.search(r'id="satisfaction">—<', html)  # no ratings yet


def test_a_scorecard_links_back_to_its_province_s_list(client):
    html = client.get(f"/scorecard/{PHONG_HOA}").get_data(as_text=True)
    assert 'href="/scorecards?province=46"' in html and 'href="/scorecards"' in html


def scorecard_cells(client, code: str) -> dict[str, list[str]]:
    html = client.get(f"/scorecard/{code}").get_data(as_text=True)
    table = re.search(r'id="channels".*?</table>', html, re.S).group(0)
    rows = re.findall(r'<tr><th scope="row">([^<]+)</th>(.*?)</tr>', table)
    return {name: re.sub(r"<[^>]+>", " ", rest).split() for name, rest in rows}


def test_a_hidden_channel_cannot_be_worked_out_from_the_total(client, app_ctx):
    for channel, n in (("web", 7), ("paper", 5), ("hotline", 1)):
        for _ in range(n):
            petition_in(PHONG_HOA, channel=channel)
    cells = scorecard_cells(client, PHONG_HOA)
    # the one hotline petition is hidden, and the paper ones with it: 13 − 7 leaves 6 for both together
    assert cells["Cổng trực tuyến"] == ["7", "54%"]
    assert cells["Đơn giấy"] == cells["Đường dây nóng"] == ["không", "công", "bố"]


def test_one_answer_s_timing_is_not_published(client, app_ctx):
    from app.services.workflow import act

    petitions = [petition_in(PHONG_HOA) for _ in range(6)]
    province = officer("province", "46")
    act(petitions[0], "accept", province)
    act(petitions[0], "resolve", province, answer="Đã sửa xong.")
    html = client.get(f"/scorecard/{PHONG_HOA}").get_data(as_text=True)
    assert re.search(r'id="resolved">1<', html)
    assert re.search(r'id="on-time">—<', html) and re.search(r'id="median-days">—<', html)
