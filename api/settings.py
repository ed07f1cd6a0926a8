"""The one settings object; each entry point builds it and passes it down."""

from __future__ import annotations

from pathlib import Path

from platformdirs import user_cache_dir
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

APP_NAME = "quant-advisor"


def default_catalog_path() -> Path:
    return Path(user_cache_dir(APP_NAME)) / "catalog.duckdb"


def default_model_cache() -> Path:
    return Path(user_cache_dir(APP_NAME)) / "models"


class Settings(BaseSettings):
    """Read from the environment (`ADVISOR_*`) and overridden by command-line flags."""

    model_config = SettingsConfigDict(env_prefix="ADVISOR_", extra="ignore", frozen=True)

    catalog: Path | None = Field(
        default=None,
        description="catalog file (ADVISOR_CATALOG); default: the user cache folder",
    )

    host: str = Field(default="127.0.0.1", description="address `advisor serve` binds")
    port: int = Field(default=8080, ge=0, le=65535, description="port `advisor serve` binds")
    workers: int = Field(default=1, ge=1, le=64, description="server processes")
    import_token: SecretStr | None = Field(
        default=None,
        description="bearer token for the import endpoints (ADVISOR_IMPORT_TOKEN); none: disabled",
    )
    max_body_bytes: int = Field(
        default=32 * 2**20, gt=0, description="largest request body accepted (413 above)"
    )
    advice_cache_size: int = Field(
        default=4096, ge=0, description="answers kept per process (keyed by query and catalog)"
    )
    reload_check_s: float = Field(
        default=0.5, ge=0, description="how often a process checks the catalog for new imports"
    )
    tools_dir: Path | None = Field(
        default=None,
        description="folder with the profiler's tool environments (ADVISOR_TOOLS_DIR): "
        "vllm/ (vLLM, GuideLLM, lm-eval) and llmcompressor/, as scripts/install-profiler-tools.sh "
        "makes them; default: tools on PATH",
    )
    model_cache: Path | None = Field(
        default=None,
        description="folder of fitted models (ADVISOR_MODEL_CACHE); default: the user cache",
    )

    @property
    def imports_enabled(self) -> bool:
        return self.import_token is not None and bool(self.import_token.get_secret_value())

    @property
    def model_cache_path(self) -> Path:
        return (self.model_cache or default_model_cache()).expanduser()

    @property
    def catalog_path(self) -> Path:
        return (self.catalog or default_catalog_path()).expanduser()
