"""Issue 11, item 10: `/docs` works offline and the OpenAPI documents declare how to
authenticate.

Every asset `/docs` loads is served by the process itself (from the `swagger-ui-bundle`
package); no page refers to another host. The API declares `bearer`, the gateway `bearer` and
`basic`, and each operation that needs a caller lists them."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from anpr.bus.local import LocalBus
from anpr.settings import CommonSettings
from anpr.topics import Topics
from api.app import create_app as create_api
from api.settings import ApiSettings
from ingest.app import create_app as create_gateway
from ingest.settings import GatewaySettings
from matcher.app import create_app as create_matcher
from matcher.settings import MatcherSettings

# Unauthenticated, or (the console's sign-in) authenticated by a token in the body or the
# session cookie the route itself sets, never by a declared scheme.
PUBLIC = {"/healthz", "/readyz", "/metrics", "/console/session"}


def _apps() -> dict[str, Any]:
    bus = LocalBus(None, Topics.from_prefix("anpr.").specs(CommonSettings()))
    return {
        "api": create_api(ApiSettings(), bus),
        "gateway": create_gateway(GatewaySettings(), bus),
        "matcher": create_matcher(MatcherSettings(), bus),
    }


@pytest.mark.parametrize("name", ["api", "gateway", "matcher"])
async def test_docs_load_only_local_assets(name: str) -> None:
    app = _apps()[name]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
        page = await client.get("/docs")
        assert page.status_code == 200
        urls = re.findall(r"""(?:src|href|url)\s*[:=]\s*['"]([^'"]+)['"]""", page.text)
        assets = [u for u in urls if not u.startswith("/openapi")]
        assert assets, page.text
        for url in assets:
            assert url.startswith("/"), f"{url} is not served by the process"
            asset = await client.get(url)
            assert asset.status_code == 200, url
            assert len(asset.content) > 100, url
        assert "cdn" not in page.text.lower()
        assert (await client.get("/redoc")).status_code == 404


@pytest.mark.parametrize(
    ("name", "schemes"), [("api", {"bearer"}), ("gateway", {"bearer", "basic"})]
)
def test_openapi_declares_security_schemes_on_every_protected_operation(
    name: str, schemes: set[str]
) -> None:
    spec = _apps()[name].openapi()
    declared = spec["components"]["securitySchemes"]
    assert set(declared) == schemes
    assert declared["bearer"] == {**declared["bearer"], "type": "http", "scheme": "bearer"}
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            security = operation.get("security")
            if path in PUBLIC:
                assert security is None, (method, path)
            else:
                assert {k for req in security for k in req} == schemes, (method, path)
