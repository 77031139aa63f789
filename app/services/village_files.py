"""Village lists as officers keep them: CSV or Excel in, CSV or Excel out, in the same columns.

One village per line. The columns are found by their heading, diacritics and
case ignored ("Mã xã", "ma_xa" and "MA XA" are one column); a commune is
named by its code or its name. Line numbers are the ones Excel shows (the
heading is line 1), so a problem reported on line 7 is found on line 7.
Polygons, when a province has surveyed some, come in a companion GeoJSON
whose features name their village by code, or by commune code and name.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from dataclasses import dataclass
from datetime import date, datetime

import openpyxl
import shapely
from flask_babel import lazy_gettext as _l
from shapely.geometry import shape as geojson_shape

from app.services.exports import safe_cell
from app.text import fold

# The columns, in the order exported; their headings as exported.
COLUMNS = ("commune_code", "commune_name", "village_code", "village_name", "unit_type", "lat", "lon", "population")
HEADINGS = {
    "commune_code": "Mã xã",
    "commune_name": "Tên xã",
    "village_code": "Mã thôn",
    "village_name": "Tên thôn",
    "unit_type": "Loại",
    "lat": "Vĩ độ",
    "lon": "Kinh độ",
    "population": "Dân số",
}
_ALIASES = {
    "commune_code": ("ma xa", "ma_xa", "commune_code", "commune code"),
    "commune_name": ("ten xa", "ten_xa", "xa", "xa, phuong", "commune", "commune_name"),
    "village_code": ("ma thon", "ma_thon", "village_code", "village code"),
    "village_name": ("ten thon", "ten_thon", "thon", "ten thon, to dan pho", "village", "village_name", "name"),
    "unit_type": ("loai", "loai hinh", "unit_type", "unit type"),
    "lat": ("vi do", "vi_do", "lat", "latitude"),
    "lon": ("kinh do", "kinh_do", "lon", "lng", "longitude"),
    "population": ("dan so", "dan_so", "population", "so dan"),
}
_COLUMN_OF = {alias: column for column, aliases in _ALIASES.items() for alias in aliases}

MAX_BYTES = 8 * 1024 * 1024  # a province's 5,000 villages are ~300 kB as CSV
MAX_LINES = 30_000  # the largest province has fewer than 10,000 villages
MAX_SHAPES_BYTES = 32 * 1024 * 1024
MAX_BLANK_LINES = 10_000  # blank lines skipped, up to this many
MAX_COLUMNS = 40
MAX_CELL = 1000  # characters kept of a cell (a name is at most 200)


class FileRefused(ValueError):
    """The file cannot be read as a village list; the message says why, for the officer."""


@dataclass
class Line:
    number: int  # as Excel shows it: the heading is line 1
    values: dict[str, str]  # column → text as read ("" when empty)

    def as_json(self) -> dict:
        return {"number": self.number, "values": self.values}


@dataclass
class Shape:
    number: int  # the feature's place in the GeoJSON, from 1
    village_code: str
    commune_code: str
    village_name: str
    geometry: object  # a shapely (Multi)Polygon


def read_list(filename: str, data: bytes) -> list[Line]:
    """The lines of a CSV (UTF-8, with or without BOM) or Excel workbook; FileRefused if it is neither."""
    if len(data) > MAX_BYTES:
        raise FileRefused(_l("Tệp quá lớn (tối đa 8 MB)."))
    name = filename.lower()
    if name.endswith(".xlsx") or data[:4] == b"PK\x03\x04":
        rows = _xlsx_rows(data)
    elif name.endswith((".csv", ".txt")):
        rows = _csv_rows(data)
    else:
        raise FileRefused(_l("Chỉ nhận tệp CSV hoặc Excel (.xlsx)."))
    try:
        return _lines(rows)
    except csv.Error:  # a cell beyond the csv module's limit (128 kB), a stray NUL…
        raise FileRefused(_l("Tệp CSV có một ô quá dài hoặc không đọc được.")) from None


def _csv_rows(data: bytes):
    try:
        text = data.decode("utf-8-sig")  # Excel's "CSV UTF-8" begins with a BOM
    except UnicodeDecodeError:
        raise FileRefused(
            _l("Tệp CSV phải ở mã UTF-8 (trong Excel: Lưu thành «CSV UTF-8»), hoặc gửi tệp Excel .xlsx.")
        ) from None
    sample = text[:4096]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    return enumerate(csv.reader(io.StringIO(text, newline=""), dialect), start=1)


def _xlsx_rows(data: bytes):
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds for a file that is not a workbook
        raise FileRefused(_l("Không đọc được tệp Excel; hãy lưu lại thành .xlsx và gửi lại.")) from None
    if not book.worksheets:
        raise FileRefused(_l("Tệp không có dòng nào."))
    sheet = book.worksheets[0]
    # Bounded whatever the workbook claims of its size: a few columns, the most lines a list may have.
    rows = sheet.iter_rows(max_row=MAX_LINES + MAX_BLANK_LINES, max_col=MAX_COLUMNS, values_only=True)
    return enumerate(([_cell(v) for v in row] for row in rows), start=1)


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a population or a code typed as a number
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return str(value)


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _lines(rows) -> list[Line]:
    heading = None
    lines: list[Line] = []
    for number, row in rows:
        if number > MAX_LINES + MAX_BLANK_LINES:
            raise FileRefused(_l("Tệp có quá nhiều dòng (tối đa 30.000)."))
        cells = [_CONTROL.sub("", str(c)).strip()[:MAX_CELL] for c in row[:MAX_COLUMNS]]
        if not any(cells):
            continue
        if heading is None:
            heading = [_COLUMN_OF.get(fold(c).replace("*", "").strip()) for c in cells]
            if "village_name" not in heading or not ({"commune_code", "commune_name"} & set(heading)):
                raise FileRefused(
                    _l(
                        "Dòng 1 phải là dòng tiêu đề, có ít nhất cột «Tên thôn» và «Mã xã» hoặc «Tên xã» "
                        "(tải tệp mẫu bằng nút Xuất)."
                    )
                )
            continue
        if len(lines) >= MAX_LINES:
            raise FileRefused(_l("Tệp có quá nhiều dòng (tối đa 30.000)."))
        values = dict.fromkeys(COLUMNS, "")
        for column, cell in zip(heading, cells):
            if column and cell:
                values[column] = cell
        lines.append(Line(number, values))
    if heading is None:
        raise FileRefused(_l("Tệp không có dòng nào."))
    return lines


def read_shapes(data: bytes) -> list[Shape]:
    """Village polygons from a GeoJSON FeatureCollection; FileRefused if it is not one."""
    if len(data) > MAX_SHAPES_BYTES:
        raise FileRefused(_l("Tệp ranh giới quá lớn (tối đa 32 MB)."))
    try:
        collection = json.loads(data.decode("utf-8-sig"), parse_constant=_no_constant, parse_float=_finite)
        features = collection["features"]
        assert isinstance(features, list)
    except (ValueError, KeyError, TypeError, AssertionError):
        raise FileRefused(_l("Tệp ranh giới phải là một GeoJSON FeatureCollection.")) from None
    shapes = []
    for number, feature in enumerate(features, start=1):
        try:
            properties = (feature.get("properties") or {}).items()
            props = {fold(str(k)).replace(" ", "_"): _CONTROL.sub("", str(v))[:MAX_CELL] for k, v in properties}
            geometry = geojson_shape(feature["geometry"])
            if geometry.geom_type not in ("Polygon", "MultiPolygon"):
                raise FileRefused(_l("Vùng thứ %(n)s của tệp ranh giới không phải là đa giác.", n=number))
            geometry = shapely.make_valid(geometry)
        except FileRefused:
            raise
        except Exception:
            raise FileRefused(_l("Vùng thứ %(n)s của tệp ranh giới không đọc được.", n=number)) from None
        shapes.append(
            Shape(
                number,
                props.get("ma_thon", props.get("village_code", "")).strip(),
                props.get("ma_xa", props.get("commune_code", "")).strip(),
                props.get("ten_thon", props.get("village_name", "")).strip(),
                geometry,
            )
        )
    return shapes


def _no_constant(name: str):
    raise ValueError(name)  # NaN, Infinity: no coordinate


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(text)
    return value


def write_csv(rows: list[dict]) -> bytes:
    """The rows in the upload's columns, as UTF-8 with a BOM so that Excel reads the Vietnamese right."""
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow([HEADINGS[c] for c in COLUMNS])
    for row in rows:
        writer.writerow([_cell_out(row.get(c)) for c in COLUMNS])
    return b"\xef\xbb\xbf" + out.getvalue().encode("utf-8")


def _cell_out(value):
    """Text never read as a formula by a spreadsheet (numbers as they are)."""
    return safe_cell(value) if isinstance(value, str) or value is None else value


def write_xlsx(rows: list[dict]) -> bytes:
    """The rows in the upload's columns, as an Excel workbook (codes kept as text, so no leading 0 is lost)."""
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("Thon, to dan pho")
    sheet.append([HEADINGS[c] for c in COLUMNS])
    for row in rows:
        sheet.append([_cell_out(row.get(c)) if isinstance(row.get(c), str) else row.get(c) for c in COLUMNS])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
