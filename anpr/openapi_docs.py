"""`/docs` served from this process, and the security schemes in the OpenAPI documents.

Swagger UI's assets come from the `swagger-ui-bundle` package (installed with the project), not
from a CDN: `/docs` works without internet and loads no third-party script. ReDoc, which only
exists on a CDN, is off. Each app's OpenAPI document declares its security schemes (`bearer`,
and `basic` on the gateway) and, on every operation that needs a caller, which of them apply;
the operations that need one are found from their dependencies, like the API's guard does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import swagger_ui_bundle
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

DOCS_URL = "/docs"
STATIC_URL = "/docs/static"
BEARER = {"type": "http", "scheme": "bearer", "description": "`Authorization: Bearer <token>`"}
BASIC = {
    "type": "http",
    "scheme": "basic",
    "description": "HTTP Basic: user = integrator id, password = its token (for cameras that "
    "cannot send a bearer token).",
}


def depends_on(route: APIRoute, marker: Callable[..., object]) -> bool:
    """Whether `marker` is among the route's dependencies, at any depth."""
    stack = list(route.dependant.dependencies)
    while stack:
        dep = stack.pop()
        if dep.call is marker:
            return True
        stack.extend(dep.dependencies)
    return False


def install_docs(
    app: FastAPI,
    *,
    schemes: dict[str, dict[str, Any]] | None = None,
    marker: Callable[..., object] | None = None,
) -> None:
    """Serve `/docs` from packaged assets and declare `schemes` on the operations whose routes
    depend on `marker`. The app must be created with `docs_url=None, redoc_url=None`."""
    app.mount(STATIC_URL, StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), "docs-static")

    @app.get(DOCS_URL, include_in_schema=False)
    async def docs(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} - API documentation",
            oauth2_redirect_url=f"{root}{DOCS_URL}/oauth2-redirect",
            swagger_js_url=f"{root}{STATIC_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{STATIC_URL}/swagger-ui.css",
            swagger_favicon_url=f"{root}{STATIC_URL}/favicon-32x32.png",
        )

    @app.get(f"{DOCS_URL}/oauth2-redirect", include_in_schema=False)
    async def oauth2_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    if not schemes or marker is None:
        return
    base = app.openapi

    def openapi() -> dict[str, Any]:
        assert schemes is not None and marker is not None  # noqa: S101 - narrowed above
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = base()
        schema.setdefault("components", {})["securitySchemes"] = schemes
        requirement: list[dict[str, list[str]]] = [{name: []} for name in schemes]
        protected = {
            (method.lower(), context.path)
            for context in iter_route_contexts(app.routes)
            if isinstance(context.original_route, APIRoute)
            and depends_on(context.original_route, marker)
            for method in context.methods or ()
        }
        for path, item in schema.get("paths", {}).items():
            for method, operation in item.items():
                if (method, path) in protected:
                    operation["security"] = requirement
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
