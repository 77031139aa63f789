"""The portal's tables."""

from app.models.agency import Agency
from app.models.alert import AlertSubscription
from app.models.answer_template import AnswerTemplate
from app.models.area import Area, Generation
from app.models.audit import AuditEvent
from app.models.outbox import OutboxJob
from app.models.partner import Partner
from app.models.petition import (
    Category,
    CategoryQuestion,
    Petition,
    PetitionAnswer,
    PetitionPhoto,
    PetitionSupport,
    VoiceFlag,
)
from app.models.user import LoginFailure, RecoveryCode, User
from app.models.village_register import VillageChange, VillageRegisterSetting, VillageUpload
from app.models.webhook import WebhookDelivery, WebhookSubscription
from app.models.workflow import DeadlineRule, Holiday, Notice, Referral

__all__ = [
    "Agency",
    "AlertSubscription",
    "AnswerTemplate",
    "Area",
    "AuditEvent",
    "Category",
    "CategoryQuestion",
    "DeadlineRule",
    "Generation",
    "Holiday",
    "LoginFailure",
    "Notice",
    "OutboxJob",
    "Partner",
    "Petition",
    "PetitionAnswer",
    "PetitionPhoto",
    "PetitionSupport",
    "RecoveryCode",
    "Referral",
    "User",
    "VillageChange",
    "VillageRegisterSetting",
    "VillageUpload",
    "VoiceFlag",
    "WebhookDelivery",
    "WebhookSubscription",
]
