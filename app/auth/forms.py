"""Login and activation forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length


class LoginForm(FlaskForm):
    username = StringField(
        _l("Tên đăng nhập"), validators=[DataRequired(_l("Hãy nhập tên đăng nhập.")), Length(max=64)]
    )
    password = PasswordField(_l("Mật khẩu"), validators=[DataRequired(_l("Hãy nhập mật khẩu.")), Length(max=200)])


class ActivateForm(FlaskForm):
    username = StringField(
        _l("Tên đăng nhập"), validators=[DataRequired(_l("Hãy nhập tên đăng nhập.")), Length(max=64)]
    )
    code = StringField(_l("Mã kích hoạt"), validators=[DataRequired(_l("Hãy nhập mã kích hoạt.")), Length(max=20)])
    password = PasswordField(
        _l("Mật khẩu mới"), validators=[DataRequired(_l("Hãy nhập mật khẩu mới.")), Length(max=200)]
    )
    confirm = PasswordField(
        _l("Nhập lại mật khẩu mới"), validators=[EqualTo("password", _l("Hai lần nhập mật khẩu không khớp."))]
    )


class CodeForm(FlaskForm):
    code = StringField(
        _l("Mã xác thực (6 chữ số) hoặc mã dự phòng"),
        validators=[DataRequired(_l("Hãy nhập mã xác thực.")), Length(max=20)],
    )


class EnrolForm(CodeForm):
    # Asked when the second factor is turned on from an open session (not right after the password).
    password = PasswordField(_l("Mật khẩu hiện tại"), validators=[Length(max=200)])
