"""The one settings object; each entry point builds it and passes it down."""

from __future__ import annotations

from pathlib import Path

from platformdirs import user_cache_dir
from pydantic import Field
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

    model_cache: Path | None = Field(
        default=None,
        description="folder of fitted models (ADVISOR_MODEL_CACHE); default: the user cache",
    )

    @property
    def model_cache_path(self) -> Path:
        return (self.model_cache or default_model_cache()).expanduser()

    @property
    def catalog_path(self) -> Path:
        return (self.catalog or default_catalog_path()).expanduser()
