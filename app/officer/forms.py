"""The officers' forms: inbox filters, workflow actions, petitions filed for citizens."""

from __future__ import annotations

from collections.abc import Mapping

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from app import params
from app.models.petition import CHANNEL_NAMES, GEOTAG_METHOD_NAMES, STATUS_NAMES
from app.petitions.forms import PetitionForm
from app.services.inbox import InboxFilter
from app.services.workflow import TRANSITIONS

# The channels an officer files a petition from.
CHANNELS = [(code, CHANNEL_NAMES[code]) for code in ("hotline", "paper", "voter_meeting", "in_person")]
METHOD_NAMES = [
    ("", _l("— Mọi cách định vị —")),
    *GEOTAG_METHOD_NAMES.items(),
    ("disagrees", _l("Khác nơi công dân chọn")),
]
SORTS = [("newest", _l("Mới nhất")), ("urgent", _l("Gấp nhất"))]
MAX_QUERY = 100  # characters of a text search
# What the inbox's links keep of the query string.
FILTERS = (
    "status", "category", "village", "commune", "since", "until", "overdue", "method", "unplaced", "mine", "q", "sort",
)  # fmt: skip


class FilterForm(FlaskForm):
    class Meta:
        csrf = False  # a read-only query string

    status = SelectField(
        _l("Trạng thái"), choices=[("", _l("— Mọi trạng thái —")), *STATUS_NAMES.items()], validate_choice=False
    )
    category = SelectField(_l("Lĩnh vực"), validate_choice=False)
    village = SelectField(_l("Thôn, tổ dân phố"), validate_choice=False)
    since = DateField(_l("Từ ngày"), validators=[Optional()])
    until = DateField(_l("Đến ngày"), validators=[Optional()])
    overdue = BooleanField(_l("Chỉ kiến nghị quá hạn"))
    mine = BooleanField(_l("Chỉ kiến nghị giao cho tôi"))
    commune = StringField(_l("Xã, phường (gõ tên)"), validators=[Optional(), Length(max=200)])
    method = SelectField(_l("Cách định vị"), choices=METHOD_NAMES, validate_choice=False)
    q = StringField(_l("Tìm trong nội dung"), validators=[Optional(), Length(max=MAX_QUERY)])
    sort = SelectField(_l("Sắp xếp"), choices=SORTS, validate_choice=False)
    after = HiddenField()

    def to_filter(self, args: Mapping[str, str]) -> InboxFilter:
        """The inbox filter of a query string; BadParam (a 400) for a malformed value (app/params.py).

        A village is one of the offered villages (a commune officer's); staff above a
        commune are offered none and may still name one by its code. A mangled
        cursor (after) starts from the first page.
        """
        villages = [code for code, _ in self.village.choices if code]
        return InboxFilter(
            status=params.parse_choice(args, "status", STATUS_NAMES),
            category=params.parse_choice(args, "category", [code for code, _ in self.category.choices if code]),
            village=(
                params.parse_choice(args, "village", villages) if villages else params.parse_text(args, "village", 32)
            ),
            since=params.parse_date(args, "since"),
            until=params.parse_date(args, "until"),
            overdue=params.parse_flag(args, "overdue"),
            method=params.parse_choice(args, "method", [code for code, _ in METHOD_NAMES if code]),
            unplaced=params.parse_flag(args, "unplaced"),
            mine=params.parse_flag(args, "mine"),
            q=params.parse_text(args, "q", MAX_QUERY, "query_too_long"),
            sort=params.parse_choice(args, "sort", [code for code, _ in SORTS]) or "newest",
            after=params.parse_text(args, "after", 200),
        )


def _optional_int(value) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


class ActionForm(FlaskForm):
    action = SelectField(choices=list(TRANSITIONS), validate_choice=True)
    version = IntegerField(validators=[Optional()])  # the version the officer's page showed
    note = TextAreaField(
        _l("Ghi chú, lý do"), validators=[Length(max=4000, message=_l("Ghi chú dài quá 4.000 ký tự."))]
    )
    answer = TextAreaField(
        _l("Nội dung trả lời công dân"), validators=[Length(max=10000, message=_l("Câu trả lời dài quá 10.000 ký tự."))]
    )
    area_code = StringField(
        _l("Xã, phường hoặc tỉnh nhận (gõ tên hoặc mã)"), validators=[Length(max=200, message=_l("Tên quá dài."))]
    )
    into_code = StringField(_l("Mã kiến nghị gộp vào"), validators=[Length(max=24)])
    village_code = StringField(
        _l("Thôn, tổ dân phố (gõ tên hoặc mã)"), validators=[Length(max=200, message=_l("Tên quá dài."))]
    )
    agency_id = SelectField(_l("Cơ quan nhận"), coerce=_optional_int, validate_choice=False)
    agency = StringField(_l("Hoặc tên cơ quan khác (chỉ ghi nhận, không gửi)"), validators=[Length(max=200)])
    due_on = DateField(_l("Hạn trả lời"), validators=[Optional()])
    assignee = StringField(_l("Cán bộ phụ trách"), validators=[Length(max=64, message=_l("Tên đăng nhập quá dài."))])
    public_title = StringField(_l("Tiêu đề công khai"), validators=[Length(max=150)])
    public_body = TextAreaField(_l("Nội dung công khai"), validators=[Length(max=5000)])

    def details(self) -> dict:
        """The fields the chosen action takes (see app/services/workflow.py)."""
        fields = {
            "resolve": {"answer": self.answer.data},
            "forward": {"area_code": self.area_code.data},
            "merge": {"into_code": self.into_code.data},
            "replace": {"village_code": self.village_code.data},
            "refer": {"agency": self.agency.data, "due_on": self.due_on.data, "agency_id": self.agency_id.data},
            "redact": {"public_title": self.public_title.data or "", "public_body": self.public_body.data or ""},
            "assign": {"assignee": self.assignee.data or ""},
        }
        return fields.get(self.action.data, {})


class FileForCitizenForm(PetitionForm):
    channel = SelectField(_l("Kênh tiếp nhận"), choices=CHANNELS)

    def __init__(self, *args, home_area=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.home_area = home_area  # the officer's commune or province: the place when none is picked

    def chosen_code(self) -> str | None:
        """The place picked, else the officer's own area (central staff have none: they pick one)."""
        return super().chosen_code() or (self.home_area.code if self.home_area is not None else None)
