"""English is available everywhere: every text the portal shows has its translation."""

from __future__ import annotations

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
