"""The one error hierarchy. No HTTP or terminal in it: the edges map these once."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class AdvisorError(Exception):
    """Base of every error the product raises on purpose."""


class UnknownNameError(AdvisorError):
    """A model, format, GPU or use case that the catalog does not know."""

    def __init__(
        self,
        kind: str,
        value: str,
        accepted: Iterable[str],
        hint: str = "",
        aliases: dict[str, str] | None = None,
    ) -> None:
        self.kind = kind
        self.value = value
        self.hint = hint
        self.accepted = sorted({str(a) for a in accepted})
        spellings = {a: a for a in self.accepted} | (aliases or {})
        close = difflib.get_close_matches(value.strip().lower(), list(spellings), n=1, cutoff=0.5)
        self.closest = [spellings[c] for c in close]
        message = f"unknown {kind} {value!r}"
        if self.closest:
            message += f" (did you mean {self.closest[0]!r}?)"
        message += f"; accepted: {', '.join(self.accepted)}"
        if hint:
            message += f". {hint}"
        super().__init__(message)


class InvalidInputError(AdvisorError):
    """A value out of range or a combination that cannot be served."""


class ImportRejectedError(AdvisorError):
    """A tool output file that cannot be ingested; the catalog was left unchanged."""

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}")


class MissingFieldError(ImportRejectedError):
    """A field the catalog needs that neither the file nor the import's options provide.

    `option` names the import option that would supply it (`model`, `format`, `gpu`,
    `gpu_count`); the edges turn it into their own hint (a flag, a form field)."""

    def __init__(self, path: str, field: str, option: str) -> None:
        super().__init__(path, f"the file does not say the {field}")
        self.field = field
        self.option = option


class ReadOnlyQueryError(AdvisorError):
    """A statement that would change the catalog, sent to a read-only query."""


class CatalogError(AdvisorError):
    """The catalog file cannot be opened, migrated or built."""
