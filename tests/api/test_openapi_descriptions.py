"""Every field a client sees in the OpenAPI document says what it is."""

from __future__ import annotations

from pathlib import Path

from litestar.testing import TestClient

from api.app import create_app
from api.settings import Settings


def test_every_component_property_has_a_description(catalog_file: Path, tmp_path: Path) -> None:
    settings = Settings(catalog=catalog_file, model_cache=tmp_path / "models", import_token="t")
    with TestClient(create_app(settings)) as client:
        schema = client.get("/schema/openapi.json").json()
    components = schema["components"]["schemas"]
    assert {"AdviceResponse", "Candidate", "GuideLLMUpload", "Prediction"} <= set(components)
    missing = [
        f"{name}.{prop}"
        for name, component in components.items()
        for prop, spec in component.get("properties", {}).items()
        if not str(spec.get("description", "")).strip()
    ]
    assert missing == []
