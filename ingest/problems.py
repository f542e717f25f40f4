"""Problems found in a file: one shape for every error and warning, bilingual, with the cell it is about."""

from __future__ import annotations

from dataclasses import asdict, dataclass

MASK = "•••"  # what a participant's name becomes wherever a user could see it


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a file, a sheet, a row or a cell; `row` is the row number the user sees."""

    file: str
    sheet: str | None
    row: int | None
    column: str | None
    value: str | None
    message_he: str
    message_en: str
    severity: str = "error"  # error | warning
    col_index: int | None = None  # 1-based Excel column, for marking the cell in the report

    @property
    def is_error(self) -> bool:
        """Errors block a load (unless skip-invalid drops their rows); warnings never do."""
        return self.severity == "error"

    def message(self, lang: str = "he") -> str:
        """The message in the user's language."""
        return self.message_en if lang == "en" else self.message_he

    def to_dict(self) -> dict:
        """Plain data, e.g. for JSON."""
        return asdict(self)


def display_value(value: object, limit: int = 80) -> str | None:
    """A cell value as short text for a message (never the whole of a huge cell)."""
    if value is None:
        return None
    text = str(value)
    if isinstance(value, float) and value.is_integer():
        text = str(int(value))
    return text if len(text) <= limit else text[: limit - 1] + "…"
