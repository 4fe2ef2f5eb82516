"""Declarative vendor mappings as the API shows them (`/v1/formats`)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class FormatOut(BaseModel):
    name: str
    mapping: dict[str, Any] = Field(description="The mapping as stored, defaults filled in.")
    ingest_path: str = Field(description="Where the brand's cameras push: POST this path.")


class FormatList(BaseModel):
    items: list[FormatOut]
    builtin: list[str] = Field(description="Built-in formats: no mapping can take these names.")
