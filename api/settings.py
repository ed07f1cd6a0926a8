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
        default=32 * 2**20, gt=0, description="largest upload to an import route (413 above)"
    )
    max_json_body_bytes: int = Field(
        default=2**20,
        gt=0,
        description="largest JSON body of the advice, predict and chart routes (413 above); "
        "an advice document is about 70 KB",
    )
    max_price_rows: int = Field(
        default=1000, gt=0, description="most price rows in one request (413 above)"
    )
    max_predict_rows: int = Field(
        default=1000, gt=0, description="most configurations in one predict request (413 above)"
    )
    max_candidates: int = Field(
        default=1000,
        gt=0,
        description="most candidates (GPU types x formats x GPU counts) one advice request "
        "evaluates (413 above)",
    )
    request_timeout_s: float = Field(
        default=30, gt=0, description="time cap of a request other than an import (503 after)"
    )
    import_timeout_s: float = Field(
        default=300,
        gt=0,
        description="time cap of an import: parse, check and commit (503 after, nothing kept)",
    )
    import_memory_bytes: int = Field(
        default=2**31,
        gt=0,
        description="memory the process that parses an upload may take beyond its start-up",
    )
    timeout_keep_alive_s: int = Field(
        default=5, ge=1, description="uvicorn: close an idle keep-alive connection after this"
    )
    timeout_graceful_shutdown_s: int = Field(
        default=10, ge=1, description="uvicorn: on stop, wait this long for open requests"
    )
    limit_concurrency: int | None = Field(
        default=512,
        ge=1,
        description="uvicorn: connections and requests at once per worker (503 above); "
        "none: unlimited",
    )
    max_request_head_bytes: int = Field(
        default=64 * 2**10,
        ge=4096,
        description="uvicorn on h11: largest request line and headers (httptools, the default "
        "parser, has its own 80 KiB bound)",
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
