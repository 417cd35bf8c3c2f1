"""The published description of the API: loads, documents auth, and every operation is named."""

from __future__ import annotations

from django.test import Client


def test_openapi_json_describes_every_operation(db):
    response = Client().get("/api/openapi.json")
    assert response.status_code == 200
    spec = response.json()
    assert spec["info"]["title"] == "Greenroom API"
    assert "personal access token" in spec["info"]["description"]
    operations = [
        (method.upper(), path, op)
        for path, item in spec["paths"].items()
        for method, op in item.items()
    ]
    assert len(operations) >= 27
    for method, path, op in operations:
        assert op.get("summary"), (method, path)
        assert op.get("tags"), (method, path)
        assert "401" in op["responses"], (method, path)
        # Every operation needs a credential: a token or the signed-in session.
        assert {name for req in op["security"] for name in req} == {
            "PersonalAccessToken",
            "BrowserSession",
        }, (method, path)
    ids = [op["operationId"] for _, _, op in operations]
    assert len(ids) == len(set(ids)) and "list_channels" in ids
    summaries = [op["summary"] for _, _, op in operations]
    assert len(summaries) == len(set(summaries)), "two operations share a summary"


def test_openapi_documents_both_ways_to_authenticate(db):
    schemes = Client().get("/api/openapi.json").json()["components"]["securitySchemes"]
    assert schemes["PersonalAccessToken"]["type"] == "http"
    assert schemes["PersonalAccessToken"]["scheme"] == "bearer"
    assert "read" in schemes["PersonalAccessToken"]["description"]
    assert schemes["BrowserSession"]["in"] == "cookie"


def test_schemas_never_name_a_secret_field(db):
    components = Client().get("/api/openapi.json").json()["components"]["schemas"]
    fields = {name for schema in components.values() for name in schema.get("properties", {})}
    assert not fields & {"token_hash", "ciphertext", "password", "credentials_id"}
    # The only place a token's plaintext appears is the response that created it.
    holders = [
        name for name, schema in components.items() if "token" in schema.get("properties", {})
    ]
    assert holders == ["TokenCreated"]


def test_the_docs_page_loads_without_a_cdn(world):
    client = Client()
    client.force_login(world.alice)
    response = client.get("/api/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    assert "cdn." not in html and "unpkg" not in html
    # Signed in, "Try it out" sends the CSRF token with writes.
    assert 'data-api-csrf="true"' in html
