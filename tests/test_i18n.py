"""English is available everywhere: every text the portal shows has its translation."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}


def test_every_text_of_the_portal_has_an_english_translation():
    with open(ROOT / "babel.cfg") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    texts = {
        message if isinstance(message, str) else message[0]
        for _, _, message, _, _ in extract_from_dir(ROOT, method_map, options_map, keywords=KEYWORDS)
    }
    with open(ROOT / "app/translations/en/LC_MESSAGES/messages.po", "rb") as po:
        catalogue = read_po(po)
    translated = {m.id if isinstance(m.id, str) else m.id[0] for m in catalogue if m.id and m.string and not m.fuzzy}
    assert len(texts) > 250  # the extraction found the portal's texts
    assert sorted(texts - translated) == []


def test_the_form_script_speaks_the_page_s_language(client):
    english = client.get("/petitions/new?lang=en").get_data(as_text=True)
    vietnamese = client.get("/petitions/new?lang=vi").get_data(as_text=True)
    assert "Search provinces and cities" in english and "Tìm tỉnh, thành phố" not in english
    assert "Tìm tỉnh, thành phố" in vietnamese


def test_workflow_refusals_and_the_history_s_actors_are_in_english_too(client, app_ctx):
    from app.services.workflow import act
    from tests.factories import csrf_token, log_in, officer, petition_in, slice_communes

    commune = slice_communes(1)[0]
    user = officer("commune", commune)
    petition = petition_in(commune)
    act(petition, "accept", user)
    log_in(client, user)
    page = f"/officer/petitions/{petition.id}"
    client.get(f"{page}?lang=en")
    data = {"csrf_token": csrf_token(client, page), "action": "reject", "version": petition.version, "note": "x"}
    refused = client.post(f"{page}/act", data={**data, "action": "accept"}).get_data(as_text=True)
    assert "Cannot «Accept» a petition whose status is «Accepted»" in refused, refused[:3000]
    assert "Không thể" not in refused
    forward = {**data, "action": "forward", "area_code": "hoa"}
    assert "More than one commune or province matches «hoa»" in client.post(f"{page}/act", data=forward).get_data(
        as_text=True
    )
    history = client.get(page).get_data(as_text=True)
    assert re.search(r'class="who">Citizen<', history) and 'class="who">citizen<' not in history
