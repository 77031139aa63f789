"""The portal's tables."""

from app.models.area import Area, Generation

__all__ = ["Area", "Generation"]
