"""Integrators and tokens as administrators create and list them (contract section 2); a token
is shown once, when it is made, and is known afterwards by its id only."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from api.fields import IdStr, Name


class IntegratorIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    integrator_id: IdStr
    name: Name


class IntegratorCreated(BaseModel):
    integrator_id: str
    token: str = Field(description="Shown once; only its hash is stored.")


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    role: Literal["operator", "supervisor", "admin", "auditor", "manager", "investigator"] = Field(
        description="Integrator tokens come with `POST /v1/integrators`."
    )
    name: Name


class TokenCreated(BaseModel):
    token: str = Field(description="Shown once; only its hash is stored.")
    role: str
    name: str


class TokenOut(BaseModel):
    token_id: str = Field(description="First 16 hex digits of the token's SHA-256.")
    role: str
    name: str
    integrator_id: str | None
    created_at: str | None


class TokenList(BaseModel):
    items: list[TokenOut]
