"""The portal's extensions, created unbound; `create_app` binds them."""

from flask_babel import Babel
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy.orm import DeclarativeBase

from app.standby import RoutingSession


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base, session_options={"class_": RoutingSession})
migrate = Migrate()
csrf = CSRFProtect()
babel = Babel()
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Vui lòng đăng nhập để tiếp tục."
login_manager.session_protection = "strong"
