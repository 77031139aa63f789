"""Exports of a selection: CSV that opens correctly in Excel, and GeoJSON.

The CSV is written for people: Vietnamese column names and values (the
status, category, channel and placement by their names, from the one place
each is defined), times in Vietnam time as ISO 8601 with +07:00. It is in
Vietnamese whatever the officer's language, like the large exports the RQ
job writes with the same functions. The GeoJSON is read by programs: its
properties keep the codes and add the names beside them (status and
status_name, ...), with the same times.

Citizen text is untrusted here too: a cell that a spreadsheet would take for
a formula (=, +, -, @, tab, carriage return first) is prefixed with an
apostrophe, so `=cmd|' /C calc'!A0` stays text. A petition is named by its
reference (public id), never by the citizen's tracking code: an export that
travels must not let its reader act as the citizen.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator
from datetime import datetime

from flask_babel import force_locale

from app.models.petition import CHANNEL_NAMES, GEOTAG_METHOD_NAMES, STATUS_NAMES, format_reference
from app.services import categories
from app.services.workdays import VIETNAM

HEADERS = {
    "reference": "Mã kiến nghị",
    "created_at": "Thời điểm gửi (giờ Việt Nam)",
    "status": "Trạng thái",
    "category_code": "Lĩnh vực",
    "title": "Tiêu đề",
    "body": "Nội dung",
    "village_code": "Mã thôn",
    "village": "Thôn, tổ dân phố",
    "commune_code": "Mã xã",
    "commune": "Xã, phường",
    "province_code": "Mã tỉnh",
    "province": "Tỉnh, thành phố",
    "geotag_method": "Cách định vị",
    "lon": "Kinh độ",
    "lat": "Vĩ độ",
    "supporters": "Số người cùng kiến nghị",
    "due_at": "Hạn xử lý (giờ Việt Nam)",
    "channel": "Kênh tiếp nhận",
    "contact_name": "Họ tên người gửi",
    "contact_phone": "Điện thoại",
}
# A spreadsheet may run a cell that starts with one of these (fullwidth forms too), even after
# leading spaces, line breaks or other invisible characters.
FORMULA_STARTS = ("=", "+", "-", "@", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_INVISIBLE = re.compile(r"[\s\x00-\x1f\u200b-\u200f\u2060\ufeff]*")
NAMED = ("status", "category_code", "channel", "geotag_method")  # codes written as their names


def vietnam_time(moment: datetime | None) -> str | None:
    """An instant as Vietnam reads it, in ISO 8601: 2026-03-02T06:30:00+07:00."""
    return moment.astimezone(VIETNAM).isoformat(timespec="seconds") if moment is not None else None


def names() -> dict[str, dict[str, str]]:
    """The Vietnamese name of each code an export names, by column."""
    with force_locale("vi"):
        return {
            "status": {code: str(name) for code, name in STATUS_NAMES.items()},
            "channel": {code: str(name) for code, name in CHANNEL_NAMES.items()},
            "geotag_method": {code: str(name) for code, name in GEOTAG_METHOD_NAMES.items()},
            "category_code": categories.vietnamese_names(),
        }


def _readable(row: dict, named: dict[str, dict[str, str]]) -> dict:
    """A row with its codes named (an unknown code stays as it is) and its times in Vietnam time."""
    values = {**row, "reference": format_reference(row["reference"])}
    for column in NAMED:
        values[column] = named[column].get(row[column], row[column])
    for column in ("created_at", "due_at"):
        values[column] = vietnam_time(row[column])
    return values


def safe_cell(value) -> str:
    """A value as spreadsheet text that can never run as a formula."""
    if value is None:
        return ""
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    visible = text[_INVISIBLE.match(text).end() :]
    return "'" + text if text.startswith(("\t", "\r")) or visible.startswith(FORMULA_STARTS) else text


def csv_chunks(rows: Iterable[dict], with_contact: bool) -> Iterator[str]:
    """UTF-8 CSV with a byte-order mark (Excel then reads Vietnamese correctly), row by row."""
    columns = [c for c in HEADERS if with_contact or c not in ("contact_name", "contact_phone")]
    named = names()
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([HEADERS[c] for c in columns])
    yield "\ufeff" + buffer.getvalue()
    for row in rows:
        buffer.seek(0)
        buffer.truncate()
        values = _readable(row, named)
        writer.writerow(
            [safe_cell(values[c]) if not isinstance(values[c], (int, float)) else values[c] for c in columns]
        )
        yield buffer.getvalue()


def geojson_chunks(rows: Iterable[dict], with_contact: bool) -> Iterator[str]:
    """A GeoJSON FeatureCollection, one feature per petition (no geometry when it has no point).

    Properties keep the codes (status "received") and add their names (status_name "Đã tiếp nhận").
    """
    named = names()
    yield '{"type":"FeatureCollection","features":['
    first = True
    for row in rows:
        properties = {}
        for k, v in row.items():
            if k in ("lon", "lat") or (not with_contact and k in ("contact_name", "contact_phone")):
                continue
            properties[k] = vietnam_time(v) if isinstance(v, datetime) else v
            if k in NAMED:
                properties[k.removesuffix("_code") + "_name"] = named[k].get(v, v)
        properties["reference"] = format_reference(row["reference"])
        geometry = {"type": "Point", "coordinates": [row["lon"], row["lat"]]} if row["lon"] is not None else None
        feature = json.dumps({"type": "Feature", "properties": properties, "geometry": geometry}, ensure_ascii=False)
        yield ("" if first else ",") + feature
        first = False
    yield "]}\n"


FORMATS = {"csv": "text/csv; charset=utf-8", "geojson": "application/geo+json"}


def chunks(fmt: str, rows: Iterable[dict], with_contact: bool) -> Iterator[str]:
    return csv_chunks(rows, with_contact) if fmt == "csv" else geojson_chunks(rows, with_contact)
