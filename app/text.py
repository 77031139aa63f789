"""Vietnamese text helpers: normal form and diacritics-free folding."""

from __future__ import annotations

import re
import unicodedata


def normalize_name(text: str) -> str:
    """Return a name in NFC with single spaces."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def fold(text: str) -> str:
    """Lower-case, strip diacritics and đ: "Thôn Đồng Tâm" → "thon dong tam".

    Folding also makes old and new tone placement ("Hoà"/"Hòa") compare equal.
    """
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(bare.lower().split())


def natural_key(text: str) -> list:
    """Sort key that puts "Thôn 2" before "Thôn 10"."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", fold(text))]
