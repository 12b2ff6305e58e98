"""The OpenAPI document and Swagger UI work on an isolated intranet: nothing loads from outside."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.django_db


def test_schema_is_openapi_3_and_lists_the_api(client):
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/auth/token/" in schema["paths"]
    assert "/api/v1/orgs/" in schema["paths"]


def test_swagger_ui_is_served_from_local_static_files(client):
    page = client.get("/api/docs/").content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert any("swagger-ui" in s for s in sources)
    assert all(s.startswith("/") for s in sources), f"external assets: {sources}"


def test_bad_token_request_gets_chinese_field_errors(client):
    response = client.post("/api/v1/auth/token/", {}, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["username"] == ["该字段是必填项。"]
