"""The officers' forms: inbox filters, workflow actions, petitions filed for citizens."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from app.models.petition import STATUS_NAMES
from app.petitions.forms import PetitionForm
from app.services.inbox import InboxFilter
from app.services.workflow import TRANSITIONS

CHANNELS = [
    ("hotline", _l("Đường dây nóng")),
    ("paper", _l("Đơn giấy")),
    ("voter_meeting", _l("Hội nghị tiếp xúc cử tri")),
    ("in_person", _l("Tiếp công dân trực tiếp")),
]
METHOD_NAMES = [
    ("", _l("— Mọi cách định vị —")),
    ("inside", _l("Trong ranh giới thôn")),
    ("nearest", _l("Gần nhất (ngoài ranh giới)")),
    ("chosen", _l("Công dân tự chọn")),
    ("unlocated", _l("Chưa xác định")),
    ("disagrees", _l("Khác nơi công dân chọn")),
]


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
    method = SelectField(_l("Cách định vị"), choices=METHOD_NAMES, validate_choice=False)
    q = StringField(_l("Tìm trong nội dung"), validators=[Optional(), Length(max=100)])
    sort = SelectField(
        _l("Sắp xếp"), choices=[("newest", _l("Mới nhất")), ("urgent", _l("Gấp nhất"))], validate_choice=False
    )
    after = HiddenField()

    def to_filter(self) -> InboxFilter:
        valid = self.validate()
        return InboxFilter(
            status=self.status.data if self.status.data in STATUS_NAMES else "",
            category=self.category.data or "",
            village=self.village.data or "",
            since=self.since.data if valid else None,
            until=self.until.data if valid else None,
            overdue=bool(self.overdue.data),
            method=self.method.data or "",
            q=(self.q.data or "")[:100],
            sort="urgent" if self.sort.data == "urgent" else "newest",
            after=self.after.data or "",
        )


class ActionForm(FlaskForm):
    action = SelectField(choices=list(TRANSITIONS), validate_choice=True)
    version = IntegerField(validators=[Optional()])  # the version the officer's page showed
    note = TextAreaField(_l("Ghi chú, lý do"), validators=[Length(max=4000)])
    answer = TextAreaField(_l("Nội dung trả lời công dân"), validators=[Length(max=10000)])
    area_code = StringField(_l("Mã xã, phường hoặc tỉnh nhận"), validators=[Length(max=8)])
    into_code = StringField(_l("Mã kiến nghị gộp vào"), validators=[Length(max=16)])
    village_code = StringField(_l("Mã thôn, tổ dân phố"), validators=[Length(max=8)])
    agency = StringField(_l("Cơ quan nhận"), validators=[Length(max=200)])
    due_on = DateField(_l("Hạn trả lời"), validators=[Optional()])
    public_title = StringField(_l("Tiêu đề công khai"), validators=[Length(max=150)])
    public_body = TextAreaField(_l("Nội dung công khai"), validators=[Length(max=5000)])

    def details(self) -> dict:
        """The fields the chosen action takes (see app/services/workflow.py)."""
        fields = {
            "resolve": {"answer": self.answer.data},
            "forward": {"area_code": self.area_code.data},
            "merge": {"into_code": self.into_code.data},
            "replace": {"village_code": self.village_code.data},
            "refer": {"agency": self.agency.data, "due_on": self.due_on.data},
            "redact": {"public_title": self.public_title.data or "", "public_body": self.public_body.data or ""},
        }
        return fields.get(self.action.data, {})


class FileForCitizenForm(PetitionForm):
    channel = SelectField(_l("Kênh tiếp nhận"), choices=CHANNELS)
