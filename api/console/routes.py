"""The console's routes: sign-in sessions (`/console/session`) and its static files.

`POST /console/session` `{"token"}` signs in (every role but integrator) and sets the session
cookie; `GET` says who is signed in and hands out the CSRF token; `DELETE` signs out. The page and
its ES modules are package data (`api/console/static/`), served with a Content-Security-Policy
that allows only this origin's scripts, styles and API, and images from `data:` and the https
hosts of `ANPR_CONSOLE_IMAGE_HOSTS`.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Annotated

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import RedirectResponse

from anpr.clock import ms_to_rfc3339
from api.audit.log import Action
from api.console import sessions
from api.deps import Service
from api.errors import not_found, unauthorized
from api.responses import error_responses
from api.service import ApiService

router = APIRouter(tags=["console"])

_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}


class SignInIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token: Annotated[str, Field(min_length=1, max_length=512)]


class SessionOut(BaseModel):
    name: str
    role: str
    csrf_token: str = Field(description="Send as `X-CSRF-Token` on every write.")
    expires_at: str
    image_hosts: list[str] = Field(description="Hosts whose https image URLs the console shows.")


def _session_out(service: ApiService, signed_in: sessions.SignedIn) -> SessionOut:
    return SessionOut(
        name=signed_in.principal.name,
        role=signed_in.principal.role.value,
        csrf_token=signed_in.session.csrf_token,
        expires_at=ms_to_rfc3339(signed_in.session.expires_at),
        image_hosts=list(service.settings.console_image_hosts),
    )


@router.post(
    "/console/session",
    response_model=SessionOut,
    responses=error_responses(401, 403, 422, 429, 503),
)
async def sign_in(
    body: SignInIn, request: Request, response: Response, service: Service
) -> SessionOut:
    address = request.client.host if request.client else "unknown"
    signed_in = await sessions.sign_in(service, body.token, address)
    sessions.set_cookie(response, request, signed_in, service.settings.console_cookie_secure)
    await service.audit.record(signed_in.principal, Action.CONSOLE_SIGN_IN, "console")
    response.headers["Cache-Control"] = "no-store"
    return _session_out(service, signed_in)


@router.get("/console/session", response_model=SessionOut, responses=error_responses(401))
async def who_am_i(request: Request, response: Response, service: Service) -> SessionOut:
    signed_in = await sessions.current(service, request)
    if signed_in is None:
        raise unauthorized()
    response.headers["Cache-Control"] = "no-store"
    return _session_out(service, signed_in)


@router.delete(
    "/console/session", status_code=204, response_class=Response, responses=error_responses(403)
)
async def sign_out(request: Request, service: Service) -> Response:
    await sessions.end(service, request)
    response = Response(status_code=204)
    sessions.clear_cookie(response)
    return response


# -- static files --------------------------------------------------------------------------------


@cache
def _assets() -> dict[str, tuple[bytes, str]]:
    """Every file under the package's `static/`, by its path there, read once."""
    out: dict[str, tuple[bytes, str]] = {}
    root = resources.files("api.console").joinpath("static")

    def walk(node: resources.abc.Traversable, prefix: str) -> None:
        for child in node.iterdir():
            name = f"{prefix}{child.name}"
            if child.is_dir():
                walk(child, f"{name}/")
                continue
            suffix = "." + child.name.rsplit(".", 1)[-1]
            if suffix in _TYPES:
                out[name] = (child.read_bytes(), _TYPES[suffix])

    walk(root, "")
    return out


def content_security_policy(image_hosts: list[str]) -> str:
    images = " ".join(["'self'", "data:", *(f"https://{h}" for h in image_hosts)])
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; "
        f"img-src {images}; connect-src 'self'; media-src 'none'; object-src 'none'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


def _asset(service: ApiService, name: str) -> Response:
    found = _assets().get(name)
    if found is None:
        raise not_found(f"console file {name!r}")
    body, media_type = found
    return Response(
        body,
        media_type=media_type,
        headers={
            "Content-Security-Policy": content_security_policy(
                list(service.settings.console_image_hosts)
            ),
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "X-Frame-Options": "DENY",
            "Cache-Control": "no-cache",
        },
    )


@router.get("/console", include_in_schema=False)
async def console_redirect() -> RedirectResponse:
    return RedirectResponse("/console/", status_code=308)


@router.get("/console/", include_in_schema=False)
async def console_page(service: Service) -> Response:
    return _asset(service, "index.html")


@router.get("/console/{name:path}", include_in_schema=False)
async def console_file(name: str, service: Service) -> Response:
    return _asset(service, name)
