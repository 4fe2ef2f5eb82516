"""Request and response models of webhook targets and the delivery log."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from anpr.webhooks import MAX_URL_LEN, MIN_SECRET_LEN, WebhookTarget

IdStr = Annotated[str, Field(pattern=r"^[A-Za-z0-9._:-]{1,128}$")]


class WebhookIn(BaseModel):
    """A target as an admin submits it (`PUT`). Omitting `secret` on creation has one
    generated (returned once); omitting it on an update keeps the current one."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, max_length=MAX_URL_LEN, description="https (see docs).")
    secret: str | None = Field(default=None, min_length=MIN_SECRET_LEN, max_length=512)
    entry_id: IdStr | None = Field(default=None, description="Only hits of this entry.")
    min_priority: int = Field(
        default=5, ge=1, le=5, description="Send hits with priority <= this (1 is most urgent)."
    )
    covert_allowed: bool = Field(default=False, description="Send hits of covert lists.")
    include_images: bool = Field(default=False, description="Send image bytes (base64).")
    include_test: bool = Field(
        default=False, description="Send test hits (from commissioning cameras)."
    )
    description: str = Field(default="", max_length=500)


class WebhookOut(BaseModel):
    target_id: str
    list_id: str
    entry_id: str | None
    url: str
    secret_hint: str = Field(description="The secret's last four characters.")
    min_priority: int
    covert_allowed: bool
    include_images: bool
    include_test: bool
    description: str
    created_at: int
    updated_at: int

    @classmethod
    def of(cls, target: WebhookTarget) -> WebhookOut:
        return cls(
            target_id=target.target_id,
            list_id=target.list_id,
            entry_id=target.entry_id,
            url=target.url,
            secret_hint=target.secret_hint,
            min_priority=target.min_priority,
            covert_allowed=target.covert_allowed,
            include_images=target.include_images,
            include_test=target.include_test,
            description=target.description,
            created_at=target.created_at,
            updated_at=target.updated_at,
        )


class WebhookCreated(WebhookOut):
    secret: str = Field(description="Shown once, in the answer that created the target.")


class WebhookList(BaseModel):
    items: list[WebhookOut]


class DeliveryOut(BaseModel):
    delivery_id: str
    hit_id: str
    target_id: str
    list_id: str
    covert: bool
    outcome: Literal["delivered", "failed", "cancelled"]
    attempts: int
    status_code: int | None
    error: str | None
    first_attempt_at: int
    finished_at: int


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    next_cursor: str | None
