"""The one shape of an expected failure: a message for the user in Hebrew and in English.

Every refusal a user can meet (a file that cannot be read, a batch that cannot be rolled back, a
locality outside one's scope, a missing export tool) is a subclass, so pages and CLIs show it with
`exc.message(lang)` and never a traceback.
"""

from __future__ import annotations


class BilingualError(Exception):
    """An expected failure with `message_he` and `message_en`; `str()` is the English text."""

    def __init__(self, message_he: str, message_en: str) -> None:
        super().__init__(message_en)
        self.message_he = message_he
        self.message_en = message_en

    def message(self, lang: str = "he") -> str:
        """The message in the reader's language (Hebrew unless English is asked for)."""
        return self.message_en if lang == "en" else self.message_he
