"""The filters of maps, reports and exports (a query string: no CSRF).

The form only shows the filters; their values are parsed once, with the
portal's rules for query parameters, by app/services/aggregates.py
(selection_from_args), which refuses a malformed one with a 400.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectField, StringField
from wtforms.validators import NumberRange, Optional

from app.models.petition import STATUS_NAMES
from app.services.aggregates import WEEKS_BACK


class MapFilterForm(FlaskForm):
    class Meta:
        csrf = False

    category = SelectField(_l("Lĩnh vực"), validate_choice=False)
    status = SelectField(
        _l("Trạng thái"), choices=[("", _l("— Mọi trạng thái —")), *STATUS_NAMES.items()], validate_choice=False
    )
    since = DateField(_l("Từ ngày"), validators=[Optional()])
    until = DateField(_l("Đến ngày"), validators=[Optional()])
    week = IntegerField(_l("Tuần"), validators=[Optional(), NumberRange(0, WEEKS_BACK)])
    province = StringField(validators=[Optional()])
    commune = StringField(validators=[Optional()])
