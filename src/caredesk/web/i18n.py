"""The web UI's words in Chinese and English, and which language a request gets.

The words are gettext catalogs, `web/locale/<language>/LC_MESSAGES/messages.po`, keyed by message keys
(`nav.workbench`); they are read once per process (no compiled .mo to keep in step). `make messages` extracts
the keys from the templates and the code (babel.cfg) and updates both catalogs; the catalog test checks that
every key has a translation in each language and that no catalog keeps a key nobody uses.

The language is `?lang=zh|en` (remembered in the session), else the browser's Accept-Language, else
Chinese."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from gettext import NullTranslations
from importlib import resources
from io import BytesIO

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from caredesk.errors import CareDeskError
from caredesk.workorders.model import parse_priority_reason

__all__ = ["DEFAULT_LANGUAGE", "LANGUAGES", "N_", "Translator", "catalog", "choose_language",
           "parse_accept_language"]

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"
DOMAIN = "messages"
_LABEL_PARAMS = frozenset({"urgency", "value"})  # reason parameters that are themselves stored label values


def N_(key: str) -> str:
    """Marks a key that is translated elsewhere under a computed name, so that extraction finds it."""
    return key


@cache
def catalog(language: str) -> NullTranslations:
    """The language's catalog, compiled in memory from its .po file; Chinese falls back to English, English
    to the key itself."""
    po = resources.files("caredesk.web").joinpath("locale", language, "LC_MESSAGES", f"{DOMAIN}.po")
    with po.open("rb") as source:
        messages = read_po(source, locale=language, domain=DOMAIN)
    compiled = BytesIO()
    write_mo(compiled, messages)
    compiled.seek(0)
    translations = Translations(compiled, domain=DOMAIN)
    if language != "en":
        translations.add_fallback(catalog("en"))
    return translations


class Translator:
    """`t("key")` for UI words, `t.plural("key", n)` where a count decides the form, `t.label(value)` for stored
    values (a status, a label: unknown values show as they are), `t.error(code, message)` for a refusal's stable
    code (unknown codes show the message)."""

    def __init__(self, language: str) -> None:
        self.language = language if language in LANGUAGES else DEFAULT_LANGUAGE
        self._catalog = catalog(self.language)

    def __call__(self, key: str, **values: object) -> str:
        text = self._catalog.gettext(key)
        return text.format(**values) if values else text

    def plural(self, key: str, n: float, **values: object) -> str:
        """The form for `n` (ngettext chooses on the whole number; minutes may come as floats), with `{n}`."""
        return self._catalog.ngettext(key, key, int(n)).format(n=n, **values)

    def known(self, key: str) -> bool:
        return self._catalog.gettext(key) != key

    def optional(self, key: str, default: str, **values: object) -> str:
        """The key's words, or `default` when the catalog has no such key (a value the code does not know)."""
        return self(key, **values) if self.known(key) else default

    def label(self, value: object) -> str:
        if value is None:
            return ""
        return self.optional(f"label.{value}", str(value))

    def role(self, role: str) -> str:
        return self.optional(f"role.{role}", role)

    def complaint_type(self, kind: str) -> str:
        return self.optional(f"complaint_type.{kind}", kind)

    def category(self, category: str | None) -> str:
        """A knowledge category (`cards/credit`); one the catalog does not know shows as it is."""
        return self.optional(f"kb.category.{category}", category) if category else "—"

    def decision(self, explanation: Mapping[str, object] | None, english: str) -> str:
        """A decision's reason from its stable codes (stored with the triage); older rows keep their text."""
        reasons = (explanation or {}).get("decision_reasons")
        if not isinstance(reasons, list) or not reasons:
            return english
        said = []
        for reason in reasons:
            params = {k: self.label(v) if k in _LABEL_PARAMS else self.localised(v)
                      for k, v in reason.get("params", {}).items()}
            try:
                said.append(self.optional(f"decision.code.{reason.get('code')}", english, **params))
            except (KeyError, IndexError, ValueError):  # parameters of an older shape
                return english
        return self("punct.list_separator").join(said)

    def localised(self, value: object) -> object:
        """A value stored in each language (`{"zh": ..., "en": ...}`) in the reader's, else English; any other
        value as it is."""
        if isinstance(value, Mapping) and value and set(value) <= set(LANGUAGES):
            return value.get(self.language) or value.get("en") or next(iter(value.values()))
        return value

    def compliance(self, check: object) -> list[str]:
        """The rules a reply tripped (an outgoing check as stored), one line each: name, the words, why."""
        hits = check.get("hits") if isinstance(check, Mapping) else None
        rules: dict[str, tuple[object, list[str], object]] = {}
        for hit in hits if isinstance(hits, list) else []:
            rule = str(hit.get("rule", ""))
            name = self.localised(hit.get("names")) or rule
            reason = self.localised(hit.get("reasons")) or hit.get("reason", "")
            terms = rules.setdefault(rule, (name, [], reason))[1]
            if hit.get("term") not in terms:
                terms.append(str(hit.get("term", "")))
        return [self(N_("compliance.hit"), name=name, terms=self(N_("punct.enumeration")).join(terms), reason=reason)
                for name, terms, reason in rules.values()]

    def priority_reason(self, reason: str) -> str:
        """`urgency urgent +3` -> 紧急程度「紧急」+3 (the stored reason is a code, a value and a weight)."""
        found = parse_priority_reason(reason)
        if found is None:
            return reason
        if not found.value:
            return self(f"priority.{found.code}")
        return self(f"priority.{found.code}", value=self.label(found.value), weight=found.weight)

    def coded(self, prefix: str, code: object, params: object, english: object) -> str:
        """A stored stable code with its parameters in words (`prefix + code`); without a code, or one the
        catalog does not know, the stored English text."""
        text = "" if english is None else str(english)
        if not code or not self.known(f"{prefix}{code}"):
            return text
        values = dict(params) if isinstance(params, Mapping) else {}
        try:
            return self(f"{prefix}{code}", **values)
        except (KeyError, IndexError, ValueError):  # parameters of an older shape
            return text

    def routing(self, data: Mapping[str, object]) -> str:
        """Why an order went to an agent, waits, or went to the lead (workorders/routing.py ROUTING_CODES)."""
        return self.coded("wo.route.", data.get("reason_code"), data.get("reason_params"), data.get("reason"))

    def note(self, event: object) -> str:
        """A timeline note an action wrote (`data.note_code`, `data.note_params`), else the note as written."""
        data = getattr(event, "data", None) or {}
        return self.coded("wo.note.", data.get("note_code"), data.get("note_params"), getattr(event, "note", ""))

    def invite_reason(self, reason: str | None, people: Mapping[str, object] | None = None) -> str:
        """`roster:primary` -> 值班表：主责; `chain:manager_of:<id>` -> 主责人 <name> 的上级."""
        if not reason:
            return ""
        head, _, last = reason.rpartition(":")
        if head == "chain:manager_of":
            person = (people or {}).get(last)
            name = getattr(person, "display_name", None) or (person if isinstance(person, str) else last)
            return self.coded("meeting.invite.", "chain_manager_of", {"name": name}, reason)
        return self.coded("meeting.invite.", reason.replace(":", "_"), {}, reason)

    def error(self, error: CareDeskError) -> str:
        """A refusal in the reader's language, by its stable codes: the specific problem when the error names one
        (`details["problem"]`), else the error code's sentence (in English, the message itself)."""
        problem = error.details.get("problem")
        if error.code == "compliance_blocked" and error.details.get("check"):  # which rules, which words, why
            return self(N_("compliance.refused"), rules=self("punct.list_separator").join(
                self.compliance(error.details["check"])))
        if problem and self.known(f"error.problem.{problem}"):
            return self(f"error.problem.{problem}", **error.details)
        if self.language == "en":  # the message is English already, and says more than the code
            return error.message
        return self.optional(f"error.code.{error.code}", error.message, message=error.message)

def parse_accept_language(header: str) -> list[str]:
    """The header's primary language tags, best first (`zh-CN,zh;q=0.9,en;q=0.8` -> zh, zh, en)."""
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                quality = float(params[2:])
            except ValueError:
                quality = 0.0
        if tag and quality > 0:
            ranked.append((-quality, index, tag.split("-")[0].lower()))
    return [tag for _, _, tag in sorted(ranked)]


def choose_language(query: str | None, remembered: str | None, accept_language: str) -> str:
    for candidate in (query, remembered):
        if candidate in LANGUAGES:
            return str(candidate)
    for tag in parse_accept_language(accept_language):
        if tag in LANGUAGES:
            return tag
    return DEFAULT_LANGUAGE
