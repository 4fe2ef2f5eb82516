"""Errors the API answers with, in one shape: `{"detail", "errors": [{"field", "message"}]}`.

Route code raises `ApiError`; the handlers installed by `install_error_handlers` turn it, FastAPI's
request validation errors and plain HTTP errors into that body. Nothing a client sends may end in
a 500: every rejection names the field and says why.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

from anpr.errors import AnprError
from anpr.http import error_body
from api.store.base import StoreUnavailable

BEARER_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="anpr-api"'}
# The answer to `StoreUnavailable`, wherever it is raised (a route, or the guard's session check).
STORE_UNAVAILABLE = "the database is unavailable; try again"
STORE_UNAVAILABLE_HEADERS = {"Retry-After": "5"}


class ApiError(AnprError):
    """An answer other than success, with the fields at fault."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        errors: Sequence[Mapping[str, str]] = (),
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, object] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = [dict(e) for e in errors]
        self.headers = dict(headers) if headers else None
        self.extra = dict(extra) if extra else {}


def invalid(field: str, message: str) -> ApiError:
    return ApiError(422, f"{field}: {message}", errors=[{"field": field, "message": message}])


def not_found(what: str) -> ApiError:
    return ApiError(404, f"{what} not found")


def conflict(detail: str, field: str = "body") -> ApiError:
    return ApiError(409, detail, errors=[{"field": field, "message": detail}])


def unauthorized() -> ApiError:
    return ApiError(401, "missing or invalid bearer token", headers=BEARER_CHALLENGE)


def forbidden(detail: str) -> ApiError:
    return ApiError(403, detail)


def unavailable(detail: str, retry_after_s: int) -> ApiError:
    return ApiError(503, detail, headers={"Retry-After": str(retry_after_s)})


def _field(loc: Sequence[object]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    return ".".join(parts) or "body"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(
            {**error_body(exc.detail, exc.errors), **exc.extra},
            status_code=exc.status,
            headers=exc.headers,
        )

    @app.exception_handler(StoreUnavailable)
    async def store_unavailable(request: Request, exc: StoreUnavailable) -> JSONResponse:
        return JSONResponse(
            error_body(STORE_UNAVAILABLE), status_code=503, headers=STORE_UNAVAILABLE_HEADERS
        )

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        # A body that is not JSON is located at its byte offset (("body", 6)): it is the body.
        errors = [
            {
                "field": "body" if e.get("type") == "json_invalid" else _field(e["loc"]),
                "message": e["msg"],
            }
            for e in exc.errors()
        ]
        fields = ", ".join(sorted({e["field"] for e in errors}))
        return JSONResponse(error_body(f"invalid request: {fields}", errors), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = str(exc.detail)
        # FastAPI's own 400 for a body its parser gave up on (an integer of 5,000 digits,
        # nesting past the recursion limit, bytes that are not UTF-8): the body is at fault.
        errors = [{"field": "body", "message": detail}] if exc.status_code == 400 else []
        return JSONResponse(
            error_body(detail, errors), status_code=exc.status_code, headers=exc.headers
        )
