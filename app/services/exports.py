"""Exports of a selection: CSV that opens correctly in Excel, and GeoJSON.

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
from collections.abc import Iterable, Iterator

from app.models.petition import format_reference

HEADERS = {
    "reference": "Mã kiến nghị",
    "created_at": "Ngày gửi",
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
    "due_at": "Hạn xử lý",
    "channel": "Kênh",
    "contact_name": "Họ tên người gửi",
    "contact_phone": "Điện thoại",
}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value) -> str:
    """A value as spreadsheet text that can never run as a formula."""
    if value is None:
        return ""
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_chunks(rows: Iterable[dict], with_contact: bool) -> Iterator[str]:
    """UTF-8 CSV with a byte-order mark (Excel then reads Vietnamese correctly), row by row."""
    columns = [c for c in HEADERS if with_contact or c not in ("contact_name", "contact_phone")]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([HEADERS[c] for c in columns])
    yield "\ufeff" + buffer.getvalue()
    for row in rows:
        buffer.seek(0)
        buffer.truncate()
        values = {**row, "reference": format_reference(row["reference"])}
        writer.writerow(
            [safe_cell(values[c]) if not isinstance(values[c], (int, float)) else values[c] for c in columns]
        )
        yield buffer.getvalue()


def geojson_chunks(rows: Iterable[dict], with_contact: bool) -> Iterator[str]:
    """A GeoJSON FeatureCollection, one feature per petition (no geometry when it has no point)."""
    yield '{"type":"FeatureCollection","features":['
    first = True
    for row in rows:
        properties = {
            k: (v.isoformat() if hasattr(v, "isoformat") else v)
            for k, v in row.items()
            if k not in ("lon", "lat") and (with_contact or k not in ("contact_name", "contact_phone"))
        }
        properties["reference"] = format_reference(row["reference"])
        geometry = {"type": "Point", "coordinates": [row["lon"], row["lat"]]} if row["lon"] is not None else None
        feature = json.dumps({"type": "Feature", "properties": properties, "geometry": geometry}, ensure_ascii=False)
        yield ("" if first else ",") + feature
        first = False
    yield "]}\n"


FORMATS = {"csv": "text/csv; charset=utf-8", "geojson": "application/geo+json"}


def chunks(fmt: str, rows: Iterable[dict], with_contact: bool) -> Iterator[str]:
    return csv_chunks(rows, with_contact) if fmt == "csv" else geojson_chunks(rows, with_contact)
