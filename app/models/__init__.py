"""The portal's tables."""

from app.models.area import Area, Generation
from app.models.outbox import OutboxJob
from app.models.petition import Category, Petition, PetitionAnswer, PetitionPhoto, PetitionSupport

__all__ = [
    "Area",
    "Category",
    "Generation",
    "OutboxJob",
    "Petition",
    "PetitionAnswer",
    "PetitionPhoto",
    "PetitionSupport",
]
