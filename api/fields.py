"""Field types shared by the request models: ids and names as an administrator gives them."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

# Anchored: `anpr.registry.IdStr` is not (pydantic patterns search), see `check_ids`.
IdStr = Annotated[str, Field(pattern=r"^[A-Za-z0-9._:-]{1,128}$")]
Name = Annotated[str, Field(min_length=1, max_length=200)]
