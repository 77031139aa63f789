"""The OpenAPI 3.0 document of the portal's JSON API, served at GET /api/openapi.json.

It covers /api/v1/… and the JSON form of Open311 GeoReport v2
(/open311/v2/….json; every resource also answers in XML with the same
fields). A test keeps it true: every route of the app under /api/v1/ and
/open311/v2/ is in the document, every path of the document is a route,
and generated requests get answers that match these schemas.

Petitions are named by their public id (16 hex digits), never by the
citizen's tracking code; a partner's key travels only in the X-Api-Key
header (the security scheme "partnerKey").
"""

from __future__ import annotations

from functools import cache

from flask import Blueprint, jsonify

bp = Blueprint("openapi", __name__)

AREA_LEVELS = ["province", "commune", "village"]
GEOTAG_METHODS = ["inside", "nearest", "chosen", "unlocated"]
PORTAL_STATUSES = ["received", "accepted", "rejected", "in_progress", "resolved", "forwarded", "merged"]
PUBLIC_ID_PATTERN = "^[0-9a-f]{16}$"
PARTNER_KEY = "partnerKey"  # the security scheme: the X-Api-Key header


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(properties: dict, required: list[str] | None = None, nullable: bool = False) -> dict:
    schema = {"type": "object", "properties": properties, "required": required or list(properties)}
    if nullable:
        schema["nullable"] = True
    return schema


def _str(nullable: bool = False, **extra) -> dict:
    return {"type": "string", **({"nullable": True} if nullable else {}), **extra}


def _num(nullable: bool = False, **extra) -> dict:
    return {"type": "number", **({"nullable": True} if nullable else {}), **extra}


def _int(nullable: bool = False, **extra) -> dict:
    return {"type": "integer", **({"nullable": True} if nullable else {}), **extra}


def _area_ref(nullable: bool = False) -> dict:
    return _obj({"code": _str(), "name": _str(), "unit_type": _str()}, nullable=nullable)


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _api_error(description: str) -> dict:
    return _json(_ref("ApiError"), description)


def _open311_error(description: str) -> dict:
    return _json(_ref("Open311Errors"), description)


def _query(name: str, schema: dict, description: str, required: bool = False) -> dict:
    return {"name": name, "in": "query", "required": required, "schema": schema, "description": description}


def _path(name: str, description: str, schema: dict | None = None) -> dict:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": schema or {"type": "string"},
        "description": description,
    }


def _public_id(description: str = "Mã công khai: 16 chữ số hệ 16 (chữ thường), không phải mã theo dõi.") -> dict:
    return _str(pattern=PUBLIC_ID_PATTERN, description=description)


_LAT = _query("lat", {"type": "number"}, "Vĩ độ (WGS84).", required=True)
_LON = _query("lon", {"type": "number"}, "Kinh độ (WGS84).", required=True)
_OPEN311_READ_ERRORS = {
    "429": _open311_error("Quá nhiều yêu cầu từ địa chỉ này (OPEN311_READ_LIMIT)."),
    "503": _open311_error("Cơ sở dữ liệu tạm thời không truy cập được."),
}
_KEY_OUTSIDE_HEADER = "hoặc có api_key trong địa chỉ hay nội dung (khóa API chỉ gửi trong tiêu đề X-Api-Key)"
# Reads: anyone (the published view), or a partner's key with its scope.
_READ_SECURITY = [{}, {PARTNER_KEY: []}]


def _schemas() -> dict:
    area_summary = _obj({"code": _str(), "name": _str(), "unit_type": _str(), "level": _str(enum=AREA_LEVELS)})
    return {
        "ApiError": _obj({"error": _obj({"code": _str(), "message": _str()})}),
        "Locate": _obj(
            {
                "village": _area_ref(nullable=True),
                "commune": _area_ref(nullable=True),
                "province": _area_ref(nullable=True),
                "method": _str(enum=GEOTAG_METHODS),
                "distance_m": _num(nullable=True),
                "disagrees_with_choice": {"type": "boolean"},
            }
        ),
        "AreaSummary": area_summary,
        "AreaDetail": _obj(
            {
                **area_summary["properties"],
                "full_name": _str(),
                "population": _int(nullable=True),
                "geom_source": _str(enum=["surveyed", "derived"]),
                # None for a village listed without a point (the village register)
                "label_point": _obj({"lat": _num(), "lon": _num()}, nullable=True),
                "bbox": {"type": "array", "items": _num(), "minItems": 4, "maxItems": 4, "nullable": True},
                "parents": {"type": "array", "items": _ref("AreaSummary")},
            }
        ),
        "AreaList": _obj({"areas": {"type": "array", "items": _ref("AreaSummary")}}),
        "Boundaries": _obj(
            {
                "type": _str(enum=["FeatureCollection"]),
                "features": {
                    "type": "array",
                    "items": _obj(
                        {
                            "type": _str(enum=["Feature"]),
                            "properties": _area_ref(),
                            "geometry": _obj({"type": _str(), "coordinates": {"type": "array"}}),
                        }
                    ),
                },
            }
        ),
        "SimilarPetitions": _obj(
            {
                "petitions": {
                    "type": "array",
                    "items": _obj(
                        {
                            "id": _public_id(),
                            "title": _str(),
                            "category": _str(),
                            "status": _str(),
                            "distance_m": _int(multipleOf=50, description="Làm tròn đến 50 m."),
                            "supporters": _int(),
                            "status_url": _str(description="Trang công khai /p/<id>."),
                            "support_url": _str(description="Ủng hộ kiến nghị: /p/<id>/support."),
                        }
                    ),
                }
            }
        ),
        "Open311Errors": {
            "type": "array",
            "minItems": 1,
            "items": _obj({"code": _int(), "description": _str()}),
        },
        "Discovery": _obj(
            {
                "changeset": _str(format="date-time"),
                "contact": _str(),
                "key_service": _str(),
                "description": _str(),
                "endpoints": {
                    "type": "array",
                    "items": _obj(
                        {
                            "specification": _str(),
                            "url": _str(),
                            "changeset": _str(format="date-time"),
                            "type": _str(enum=["production", "test"]),
                            "formats": {"type": "array", "items": _str()},
                        }
                    ),
                },
            }
        ),
        "Services": {
            "type": "array",
            "items": _obj(
                {
                    "service_code": _str(),
                    "service_name": _str(),
                    "description": _str(),
                    "metadata": {"type": "boolean"},
                    "type": _str(enum=["realtime", "batch", "blackbox"]),
                    "keywords": _str(),
                    "group": _str(),
                }
            ),
        },
        "ServiceDefinition": _obj(
            {
                "service_code": _str(),
                "attributes": {
                    "type": "array",
                    "items": _obj(
                        {
                            "variable": {"type": "boolean"},
                            "code": _str(),
                            "datatype": _str(
                                enum=["string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"]
                            ),
                            "required": {"type": "boolean"},
                            "datatype_description": _str(nullable=True),
                            "order": _int(),
                            "description": _str(),
                            "values": {"type": "array", "items": _obj({"key": _str(), "name": _str()})},
                        },
                        required=["variable", "code", "datatype", "required", "order", "description"],
                    ),
                },
            }
        ),
        "ServiceRequests": {
            "type": "array",
            "items": _obj(
                {
                    "service_request_id": _public_id(),
                    "status": _str(enum=["open", "closed"]),
                    "status_notes": _str(nullable=True),
                    "service_name": _str(),
                    "service_code": _str(),
                    "description": _str(),
                    "agency_responsible": _str(nullable=True),
                    "service_notice": _str(nullable=True, description="Trang công khai /p/<mã> khi đã công khai."),
                    "requested_datetime": _str(format="date-time"),
                    "updated_datetime": _str(format="date-time"),
                    "expected_datetime": _str(nullable=True, format="date-time"),
                    "address": _str(nullable=True),
                    "address_id": _str(nullable=True),
                    "zipcode": _str(nullable=True),
                    "lat": _num(nullable=True),
                    "long": _num(nullable=True),
                    "media_url": _str(nullable=True),
                    "extended_attributes": _obj(
                        {
                            "village_code": _str(nullable=True),
                            "commune_code": _str(nullable=True),
                            "province_code": _str(nullable=True),
                            "detailed_status": _str(enum=PORTAL_STATUSES),
                            "supporters": _int(),
                            "published": {"type": "boolean", "description": "Đã công khai (cán bộ đã thụ lý)."},
                        }
                    ),
                }
            ),
        },
        "ServiceRequestCreated": {
            "type": "array",
            "minItems": 1,
            "items": _obj(
                {
                    "service_request_id": _public_id(),
                    "service_notice": _str(nullable=True, description="Có mã theo dõi của công dân: chỉ báo cho họ."),
                    "account_id": _str(nullable=True),
                }
            ),
        },
        "Tokens": {
            "type": "array",
            "minItems": 1,
            "items": _obj({"service_request_id": _public_id(), "token": _public_id("Token là chính mã công khai.")}),
        },
    }


def _api_paths() -> dict:
    bad_point = _api_error("Điểm không hợp lệ hoặc ngoài lãnh thổ Việt Nam; tham số thiếu.")
    return {
        "/api/v1/locate": {
            "get": {
                "summary": "Place a point in its village, commune and province.",
                "operationId": "locate",
                "parameters": [_LAT, _LON],
                "responses": {"200": _json(_ref("Locate"), "Where the point is."), "400": bad_point},
            }
        },
        "/api/v1/areas": {
            "get": {
                "summary": "The children of an area (the provinces with no parent), in natural order.",
                "operationId": "areaList",
                "parameters": [
                    _query("parent", {"type": "string"}, "Mã địa bàn cha."),
                    _query("q", {"type": "string", "maxLength": 100}, "Tìm theo tên, không phân biệt dấu."),
                ],
                "responses": {
                    "200": _json(_ref("AreaList"), "The children."),
                    "400": _api_error("Từ khóa quá dài."),
                    "404": _api_error("Không có địa bàn cha này."),
                },
            }
        },
        "/api/v1/areas/{code}": {
            "get": {
                "summary": "One area with its parent chain.",
                "operationId": "area",
                "parameters": [_path("code", "Mã địa bàn (tỉnh 2 số, xã 5 số, thôn 8 số).")],
                "responses": {
                    "200": _json(_ref("AreaDetail"), "The area."),
                    "404": _api_error("Không có địa bàn này."),
                },
            }
        },
        "/api/v1/boundaries": {
            "get": {
                "summary": "The children's boundaries as simplified GeoJSON (the provinces with no parent).",
                "operationId": "boundaries",
                "parameters": [_query("parent", {"type": "string"}, "Mã địa bàn cha.")],
                "responses": {
                    "200": _json(_ref("Boundaries"), "A FeatureCollection."),
                    "404": _api_error("Không có địa bàn cha này."),
                },
            }
        },
        "/api/v1/petitions/similar": {
            "get": {
                "summary": "Open petitions of a category near a point (same category, nearby, recent).",
                "operationId": "similarPetitions",
                "parameters": [
                    _LAT,
                    _LON,
                    _query("category", {"type": "string"}, "Mã lĩnh vực.", required=True),
                ],
                "responses": {
                    "200": _json(_ref("SimilarPetitions"), "Nearest first."),
                    "400": _api_error("Điểm hoặc lĩnh vực không hợp lệ."),
                },
            }
        },
    }


def _open311_paths() -> dict:
    base = "/open311/v2"
    unknown_service = _open311_error("Không có lĩnh vực này.")
    unknown_request = _open311_error("Không có kiến nghị công khai mã này (hoặc ngoài phạm vi của khóa).")
    request_form = {
        "type": "object",
        "required": ["service_code", "description"],
        "properties": {
            "service_code": _str(description="Mã lĩnh vực (services.json)."),
            "lat": _num(description="Vĩ độ WGS84; cùng long, hoặc address_id."),
            "long": _num(description="Kinh độ WGS84."),
            "address_id": _str(description="Mã địa bàn: tỉnh, xã hoặc thôn."),
            "address_string": _str(description="Địa chỉ bằng chữ (kèm vào nội dung), hoặc một mã địa bàn."),
            "description": _str(minLength=10, maxLength=5000, description="Nội dung; dòng đầu là tiêu đề."),
            "first_name": _str(),
            "last_name": _str(),
            "phone": _str(description="Số di động Việt Nam; có số thì không ẩn danh."),
            "email": _str(
                description="Thư điện tử của công dân, để nhận biên nhận và câu trả lời (ẩn với cán bộ khi ẩn danh)."
            ),
            "media_url": _str(description="Chưa dùng: cổng không tải URL của bên ngoài."),
            "idempotency_key": _str(description="Như tiêu đề Idempotency-Key."),
            "jurisdiction_id": _str(description="Bỏ qua: một cơ quan duy nhất."),
            "device_id": _str(),
            "account_id": _str(),
        },
    }
    return {
        f"{base}/discovery.json": {
            "get": {
                "summary": "Service discovery: the v2 endpoint, its formats, how to get a key.",
                "operationId": "open311Discovery",
                "responses": {"200": _json(_ref("Discovery"), "Discovery."), **_OPEN311_READ_ERRORS},
            }
        },
        f"{base}/services.json": {
            "get": {
                "summary": "The petition categories as services.",
                "operationId": "open311Services",
                "responses": {"200": _json(_ref("Services"), "The services."), **_OPEN311_READ_ERRORS},
            }
        },
        f"{base}/services/{{service_code}}.json": {
            "get": {
                "summary": "A service's definition (no extra attributes).",
                "operationId": "open311ServiceDefinition",
                "parameters": [_path("service_code", "Mã lĩnh vực.")],
                "responses": {
                    "200": _json(_ref("ServiceDefinition"), "The definition."),
                    "404": unknown_service,
                    **_OPEN311_READ_ERRORS,
                },
            }
        },
        f"{base}/requests.json": {
            "get": {
                "summary": "Petitions this reader may see: by public ids, service codes, dates, status; 90 days "
                "and 1,000 newest at most. Without a key, the published view only.",
                "operationId": "open311RequestList",
                "security": _READ_SECURITY,
                "parameters": [
                    _query("service_request_id", {"type": "string"}, "Mã công khai, cách nhau bằng dấu phẩy."),
                    _query("service_code", {"type": "string"}, "Mã lĩnh vực, cách nhau bằng dấu phẩy."),
                    _query("start_date", {"type": "string", "format": "date-time"}, "ISO 8601 (w3c)."),
                    _query("end_date", {"type": "string", "format": "date-time"}, "ISO 8601 (w3c)."),
                    _query("status", {"type": "string"}, "open, closed (cách nhau bằng dấu phẩy)."),
                ],
                "responses": {
                    "200": _json(_ref("ServiceRequests"), "Newest first."),
                    "400": _open311_error(f"Tham số không hợp lệ, {_KEY_OUTSIDE_HEADER}."),
                    **_OPEN311_READ_ERRORS,
                },
            },
            "post": {
                "summary": "A partner files a petition through the same path as the web form.",
                "operationId": "open311CreateRequest",
                "security": [{PARTNER_KEY: []}],
                "parameters": [
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "required": False,
                        "schema": {"type": "string"},
                        "description": (
                            "Gửi lại cùng khóa và cùng nội dung: cùng service_request_id, HTTP 200 thay vì 201; "
                            "cùng khóa, nội dung khác: HTTP 409."
                        ),
                    }
                ],
                "requestBody": {
                    "required": True,
                    "content": {"application/x-www-form-urlencoded": {"schema": request_form}},
                },
                "responses": {
                    "201": _json(_ref("ServiceRequestCreated"), "Received."),
                    "200": _json(
                        _ref("ServiceRequestCreated"), "Already received (same Idempotency-Key, same content)."
                    ),
                    "400": _open311_error(f"Thiếu hoặc sai tham số, {_KEY_OUTSIDE_HEADER}."),
                    "403": _open311_error("Thiếu khóa API (tiêu đề X-Api-Key), khóa sai hoặc đã thu hồi."),
                    "404": unknown_service,
                    "409": _open311_error("Idempotency-Key đã dùng cho một kiến nghị có nội dung khác."),
                    "413": _open311_error("Dữ liệu quá lớn."),
                    "429": _open311_error("Vượt giới hạn tần suất của đối tác."),
                    "503": _open311_error("Cơ sở dữ liệu tạm thời không truy cập được."),
                },
            },
        },
        f"{base}/requests/{{service_request_id}}.json": {
            "get": {
                "summary": "One petition this reader may see, as a list of one.",
                "operationId": "open311Request",
                "security": _READ_SECURITY,
                "parameters": [_path("service_request_id", "Mã công khai.", _public_id())],
                "responses": {
                    "200": _json(_ref("ServiceRequests"), "A list of one."),
                    "404": unknown_request,
                    **_OPEN311_READ_ERRORS,
                },
            }
        },
        f"{base}/tokens/{{token}}.json": {
            "get": {
                "summary": "A token's request id (a token is the public id itself).",
                "operationId": "open311Token",
                "security": _READ_SECURITY,
                "parameters": [_path("token", "Mã công khai.", _public_id())],
                "responses": {
                    "200": _json(_ref("Tokens"), "The request id."),
                    "404": unknown_request,
                    **_OPEN311_READ_ERRORS,
                },
            }
        },
    }


@cache
def document() -> dict:
    """The OpenAPI 3.0 document (built once per process)."""
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Cổng Mặt trận số — API",
            "version": "1",
            "description": (
                "Địa bàn và định vị (/api/v1) và Open311 GeoReport v2 (/open311/v2) cho hệ thống đối tác. "
                "Mọi tài nguyên Open311 cũng trả lời dạng XML (đổi đuôi .json thành .xml), cùng các trường. "
                "Kiến nghị mang mã công khai (16 chữ số hệ 16), không bao giờ mã theo dõi của công dân; khóa API "
                "của đối tác chỉ gửi trong tiêu đề X-Api-Key."
            ),
        },
        "paths": _with_bad_input({**_api_paths(), **_open311_paths()}),
        "components": {
            "schemas": _schemas(),
            "securitySchemes": {
                PARTNER_KEY: {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-Api-Key",
                    "description": (
                        "Khóa API của đối tác (flask partners create). Cần khi gửi kiến nghị; khi đọc, khóa có "
                        "thể mang phạm vi: một địa bàn, kiến nghị chưa công khai. Gửi trong địa chỉ hay nội dung "
                        "(api_key): HTTP 400."
                    ),
                }
            },
        },
    }


def _with_bad_input(paths: dict) -> dict:
    """Any request may be refused with 400 (e.g. a NUL byte in a parameter: see app/errors.py)."""
    for path, operations in paths.items():
        for operation in operations.values():
            error = (
                _open311_error(f"Dữ liệu gửi lên không hợp lệ, {_KEY_OUTSIDE_HEADER}.")
                if path.startswith("/open311/")
                else _api_error("Dữ liệu gửi lên không hợp lệ.")
            )
            operation["responses"].setdefault("400", error)
    return paths


@bp.get("/api/openapi.json")
def openapi_json():
    """The OpenAPI document."""
    return jsonify(document())
