"""The petition form: the shape of the input, with Vietnamese messages."""

from __future__ import annotations

import re
import uuid

from email_validator import EmailNotValidError, validate_email
from flask import request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from sqlalchemy.exc import OperationalError
from wtforms import BooleanField, HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, ValidationError

from app.extensions import db
from app.queries.areas import area_by_code
from app.services import areas, category_questions, photos
from app.services.geotag import InvalidPoint, parse_point
from app.services.petitions import (
    BODY_MAX,
    BODY_MIN,
    MAX_PHOTOS,
    NAME_MAX,
    TITLE_MAX,
    TITLE_MIN,
    NoPlace,
    PhotoUpload,
    Submission,
    names_a_place,
    photo_location,
)

# Vietnamese mobile numbers: 0 or +84, then a mobile prefix 3, 5, 7, 8 or 9
# and eight digits ("0912 345 678", "+84 912-345-678").
MOBILE = re.compile(r"^(?:0|\+?84)([35789]\d{8})$")


def normalize_phone(raw: str) -> str | None:
    digits = re.sub(r"[\s.\-()]", "", raw or "")
    match = MOBILE.match(digits)
    return "0" + match.group(1) if match else None


def normalize_email(raw: str | None) -> str | None:
    """An address any mail server takes, as email-validator normalises it (no DNS look-up), or None.

    Plain ASCII: an internationalised domain is kept in its ASCII form; a
    mailbox name with diacritics is refused (most servers cannot take it).
    """
    try:
        return validate_email((raw or "").strip(), check_deliverability=False, allow_smtputf8=False).ascii_email
    except EmailNotValidError:
        return None


class PetitionForm(FlaskForm):
    idempotency_key = HiddenField()
    title = StringField(
        _l("Tiêu đề"),
        validators=[
            DataRequired(_l("Hãy viết tiêu đề.")),
            Length(TITLE_MIN, TITLE_MAX, _l("Tiêu đề dài từ 5 đến 150 ký tự.")),
        ],
    )
    body = TextAreaField(
        _l("Nội dung kiến nghị, phản ánh"),
        validators=[
            DataRequired(_l("Hãy viết nội dung.")),
            Length(BODY_MIN, BODY_MAX, _l("Nội dung dài từ 10 đến 5.000 ký tự.")),
        ],
    )
    category = SelectField(_l("Lĩnh vực"), validators=[DataRequired(_l("Hãy chọn lĩnh vực."))], validate_choice=False)
    lat = HiddenField()
    lon = HiddenField()
    accuracy_m = HiddenField()
    location_source = HiddenField()
    province = SelectField(_l("Tỉnh, thành phố"), validate_choice=False)
    commune = SelectField(_l("Xã, phường, đặc khu"), validate_choice=False)
    village = SelectField(_l("Thôn, tổ dân phố"), validate_choice=False)
    photos = MultipleFileField(_l("Ảnh (không bắt buộc, tối đa 5 ảnh)"))
    anonymous = RadioField(
        _l("Thông tin liên hệ"),
        choices=[("n", _l("Để lại họ tên và số điện thoại")), ("y", _l("Gửi ẩn danh"))],
        default="n",
        validators=[DataRequired(_l("Hãy chọn một cách."))],
    )
    name = StringField(_l("Họ và tên"), validators=[Length(max=NAME_MAX, message=_l("Họ tên quá dài."))])
    phone = StringField(_l("Số điện thoại di động"))
    email = StringField(
        _l("Thư điện tử (không bắt buộc)"),
        validators=[Length(max=254, message=_l("Địa chỉ thư điện tử quá dài."))],
    )
    publish = RadioField(
        _l("Công khai kiến nghị"),
        choices=[
            ("y", _l("Đồng ý công khai sau khi cán bộ thụ lý (đã ẩn thông tin cá nhân, vị trí làm tròn đến thôn)")),
            ("n", _l("Không công khai: chỉ cán bộ Mặt trận được đọc")),
        ],
        validate_choice=False,
    )
    consent = BooleanField(
        _l("Tôi đồng ý để Mặt trận Tổ quốc Việt Nam dùng thông tin này để xem xét, chuyển và trả lời kiến nghị."),
        validators=[DataRequired(_l("Cần sự đồng ý của bạn để gửi kiến nghị."))],
    )
    website = StringField()  # honeypot: hidden from people, filled by bots

    def __init__(self, *args, categories: list[tuple[str, str]] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.category.choices = [("", _l("— Chọn lĩnh vực —")), *categories]
        self.category_codes = {code for code, _ in categories}
        if not self.idempotency_key.data:
            self.idempotency_key.data = uuid.uuid4().hex
        self._point = None
        self._photos: list[PhotoUpload] = []
        self.answers, self.question_errors = {}, {}

    def validate(self, extra_validators=None) -> bool:
        """Check every field, then the shape of the place rule: its message stands by the province picker.

        Whether the place is one (a known area, a point in a commune) the
        service says when it submits (NoPlace, shown at the same spot).
        """
        valid = super().validate(extra_validators)
        # The category's own questions (app/services/category_questions.py): their refusals by the question.
        self.answers, self.question_errors = category_questions.check(
            self.category.data or "", category_questions.from_mapping(request.form, "q_")
        )
        valid = valid and not self.question_errors
        if self.lat.errors or self.photos.errors:
            return valid  # a point that is no place in Vietnam, or an unreadable photo, has its own message
        photo = photo_location(self._photos)
        if not names_a_place(self._point or (photo[:2] if photo else None), self.chosen_code()):
            self.place_refused(NoPlace("missing"))
            return False
        return valid

    def place_refused(self, refused: NoPlace) -> None:
        """Show the place rule's refusal by the province picker."""
        self.province.errors = [*self.province.errors, refused.message]

    def validate_category(self, field):
        if field.data not in self.category_codes:
            raise ValidationError(_l("Hãy chọn lĩnh vực."))

    def validate_idempotency_key(self, field):
        if not re.fullmatch(r"[0-9a-fA-F-]{16,64}", field.data or ""):
            raise ValidationError(_l("Biểu mẫu không hợp lệ, hãy tải lại trang."))

    def validate_lat(self, field):
        if not (self.lat.data or self.lon.data):
            return
        try:
            self._point = parse_point(self.lat.data, self.lon.data)
        except InvalidPoint as exc:
            raise ValidationError(exc.message) from None

    def validate_accuracy_m(self, field):
        if field.data:
            try:
                value = float(field.data)
            except ValueError:
                raise ValidationError(_l("Độ chính xác vị trí không hợp lệ.")) from None
            if not 0 <= value <= 100_000:
                raise ValidationError(_l("Độ chính xác vị trí không hợp lệ."))

    def validate_location_source(self, field):
        if field.data not in ("", None, "gps", "map", "exif"):
            raise ValidationError(_l("Nguồn vị trí không hợp lệ."))

    def validate_phone(self, field):
        if self.anonymous.data == "y":
            return
        if not field.data:
            raise ValidationError(_l("Hãy nhập số điện thoại, hoặc chọn gửi ẩn danh."))
        if not normalize_phone(field.data):
            raise ValidationError(_l("Số điện thoại di động không đúng, ví dụ 0912 345 678."))

    def validate_email(self, field):
        if (field.data or "").strip() and normalize_email(field.data) is None:
            raise ValidationError(_l("Địa chỉ thư điện tử không đúng, ví dụ ten@example.vn."))

    def validate_name(self, field):
        if self.anonymous.data != "y" and not (field.data or "").strip():
            raise ValidationError(_l("Hãy nhập họ tên, hoặc chọn gửi ẩn danh."))

    def validate_publish(self, field):
        if field.data not in (None, "", "y", "n"):
            raise ValidationError(_l("Hãy chọn công khai hoặc không."))

    def validate_website(self, field):
        if field.data:
            raise ValidationError(_l("Không gửi được biểu mẫu này."))

    def validate_photos(self, field):
        files = [f for f in (field.data or []) if f and getattr(f, "filename", "")]
        if len(files) > MAX_PHOTOS:
            raise ValidationError(_l("Tối đa 5 ảnh."))
        for upload in files:
            data = upload.read()
            try:
                checked = photos.check(data)
            except photos.PhotoRejected as exc:
                raise ValidationError(f"{upload.filename}: {exc.message}") from None
            self._photos.append(PhotoUpload(data, checked))

    def offer_places(self) -> None:
        """Fill the three pickers: the provinces, then the children of what is picked."""
        self.province.choices = [("", _l("— Chọn tỉnh, thành phố —"))]
        self.commune.choices = [("", _l("— Chọn xã, phường —"))]
        self.village.choices = [("", _l("— Chọn thôn, tổ dân phố —"))]
        try:
            self.province.choices += _options(None)
            province = area_by_code(self.province.data) if self.province.data else None
            if province is None or province.level != "province":
                self.commune.data = self.village.data = ""
                return
            self.commune.choices += _options(province)
            commune = area_by_code(self.commune.data) if self.commune.data else None
            if commune is not None and commune.parent_id == province.id:
                self.village.choices += _options(commune)
            else:
                self.village.data = ""
        except OperationalError:
            db.session.rollback()  # the form still renders; the pickers stay empty

    def chosen_code(self) -> str | None:
        for field in (self.village, self.commune, self.province):
            if field.data:
                return field.data
        return None

    def to_submission(self, channel: str = "web") -> Submission:
        lon, lat = self._point or (None, None)
        anonymous = self.anonymous.data == "y"
        return Submission(
            title=self.title.data.strip(),
            body=self.body.data.strip(),
            category=self.category.data,
            lon=lon,
            lat=lat,
            accuracy_m=float(self.accuracy_m.data) if self.accuracy_m.data else None,
            location_source=(self.location_source.data or "map") if self._point else None,
            chosen_code=self.chosen_code(),
            anonymous=anonymous,
            name=None if anonymous else self.name.data.strip(),
            phone=None if anonymous else normalize_phone(self.phone.data),
            email=normalize_email(self.email.data),
            answers=self.answers,
            idempotency_key=self.idempotency_key.data,
            publishable={"y": True, "n": False}.get(self.publish.data or ""),  # none chosen: the category's default
            channel=channel,
            photos=self._photos,
        )


def _options(parent) -> list[tuple[str, str]]:
    return [(a["code"], f"{a['unit_type']} {a['name']}") for a in areas.listing(parent)]


class TrackForm(FlaskForm):
    class Meta:
        csrf = False  # a lookup, changes nothing

    code = StringField(_l("Mã theo dõi"), validators=[DataRequired(_l("Hãy nhập mã theo dõi."))])


class RatingForm(FlaskForm):
    satisfied = RadioField(
        _l("Bạn có hài lòng với câu trả lời?"),
        choices=[("y", _l("Hài lòng")), ("n", _l("Chưa hài lòng"))],
        validators=[DataRequired(_l("Hãy chọn hài lòng hoặc chưa hài lòng."))],
    )
    comment = TextAreaField(_l("Ý kiến thêm (không bắt buộc)"), validators=[Length(max=2000)])


class SupportForm(FlaskForm):
    idempotency_key = HiddenField(validators=[DataRequired(), Length(min=8, max=64)])
