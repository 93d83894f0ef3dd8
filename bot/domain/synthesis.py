"""The two-sentence synthesis: its numbered sources, the request, and the check it must pass.

A model (any OpenAI-compatible chat endpoint, `bot/news/summary.py`) is asked for two
sentences built only from the headlines and expert views on a card, each numbered. Before a
card may carry the answer it must pass `check_synthesis`: at most two sentences and at most
400 characters; every sentence cites at least one source by number and every citation
exists; every number in a sentence (normalised: `−`/`-`, `%`/`%p`/`pp`, `억`/`조`/`billion`,
rounded to the coarser of the two precisions) appears in a source that sentence cites or in
the card's own figures; and it is in the channel's language (for Korean, most letters
Hangul). Anything else is dropped. Pure: no network, no clock.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Literal
from zoneinfo import ZoneInfo

from bot.domain.cards import CardField
from bot.domain.i18n import Locale, format_date, t
from bot.domain.news import Headline, headline_time, plain_text
from bot.domain.views import ExpertView

MAX_CHARS = 400
MAX_SENTENCES = 2
LANGUAGE_NAMES: Mapping[str, str] = {"ko": "Korean", "en": "English"}
_HANGUL = re.compile(r"[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]")
_CITE = re.compile(r"\[\s*(\d+(?:\s*[,–\-]\s*\d+)*)\s*\]")
_TRAILING_CITES = re.compile(r"(?:\s*\[\s*\d+(?:\s*[,–\-]\s*\d+)*\s*\])+")
_ABBREVIATIONS = re.compile(
    r"\b(?:(?:[A-Z]\.){2,}|(?:e\.g|i\.e|vs|Inc|Corp|Co|Ltd|Mr|Ms|Dr|St|No|"
    r"Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\.)"
)
_DECIMAL_POINT = re.compile(r"(?<=\d)\.(?=\d)")
_INDEX_NAMES = re.compile(
    r"S&P\s*500|Nasdaq[\s-]*100|Russell\s*2000|KOSPI\s*200|FTSE\s*100|Dow\s*30|"
    r"나스닥\s*100|코스피\s*200|에스앤피\s*500",
    re.IGNORECASE,
)
_NUMBER = re.compile(
    r"(?<![A-Za-z0-9_.])[+\-−]?[$₩]?(?P<int>\d{1,3}(?:,\d{3})+|\d+)(?:\.(?P<frac>\d+))?"
    r"(?:\s*(?P<unit>%p|%|pp|퍼센트포인트|퍼센트|조|억|만|percentage points?|percent|per cent|"
    r"trillion|billion|million|tn|bn))?(?![A-Za-z0-9])",
    re.IGNORECASE,
)
_SCALES: Mapping[str, int] = {
    "조": 10**12,
    "trillion": 10**12,
    "tn": 10**12,
    "억": 10**8,
    "billion": 10**9,
    "bn": 10**9,
    "million": 10**6,
    "만": 10**4,
}


@dataclass(frozen=True)
class Source:
    """One numbered source a synthesis may cite: a headline or an expert view on the card."""

    number: int
    kind: Literal["headline", "view"]
    text: str
    """What the model reads, and where a cited number must appear."""
    label: str
    """How the card names it under the synthesis (`Marc Andreessen, Sun 26 Jan 2025`)."""


def synthesis_sources(
    headlines: Sequence[Headline], views: Sequence[ExpertView], locale: Locale
) -> list[Source]:
    """The card's headlines as [1..n] (the numbers the card shows), then its views."""
    utc = ZoneInfo("UTC")
    sources: list[Source] = []
    for item in headlines:
        when = headline_time(item.published_at, "en", utc)
        text = f"{plain_text(item.title, 300)} — {item.publisher}, {when}"
        if item.summary:
            text += f". {plain_text(item.summary, 300)}"
        sources.append(Source(len(sources) + 1, "headline", text, item.publisher))
    for view in views:
        said = format_date(view.date, locale)
        figures = "; ".join(view.key_figures)
        text = f"{view.speaker_name(locale)} ({view.stance}), {view.date.isoformat()}: "
        text += view.summary(locale) + (f" Key figures: {figures}" if figures else "")
        sources.append(
            Source(len(sources) + 1, "view", text, f"{view.speaker_name(locale)}, {said}")
        )
    return sources


def synthesis_messages(
    sources: Sequence[Source], figures: str, locale: Locale
) -> list[dict[str, str]]:
    """The chat-completions messages asking for two cited sentences in `locale`."""
    language = LANGUAGE_NAMES.get(locale, "English")
    system = (
        "You summarise, for traders, what the news and experts are saying about a market move. "
        "Use only the numbered sources given; add no fact, number or opinion of your own and "
        "give no advice. Write exactly two sentences in "
        f"{language}. End every sentence with the numbers of the sources it rests on in "
        "square brackets, like [1] or [1][3]. Copy numbers exactly as the sources or the "
        "card's figures write them."
    )
    listed = "\n".join(f"[{s.number}] ({s.kind}) {s.text}" for s in sources)
    user = f"Card figures: {figures}\nSources:\n{listed}\n\nTwo sentences in {language}:"
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


@dataclass(frozen=True)
class Verdict:
    """Whether a synthesis may be shown, and if not, why (for the log)."""

    ok: bool
    reason: str = ""


@dataclass(frozen=True)
class Figure:
    """A number as written: its magnitude (sign dropped, unit scale applied) and precision."""

    value: Decimal
    quantum: Decimal

    def matches(self, other: Figure) -> bool:
        """Equal once both are rounded to the coarser of the two precisions."""
        tolerance = max(self.quantum, other.quantum) / 2
        return abs(self.value - other.value) <= tolerance + Decimal("1e-9")


def figures_in(text: str) -> list[Figure]:
    """Every number written in `text` (citations and index names like S&P 500 left out)."""
    cleaned = _INDEX_NAMES.sub(" ", _CITE.sub(" ", unicodedata.normalize("NFKC", text)))
    found = []
    for match in _NUMBER.finditer(cleaned):
        digits = match["int"].replace(",", "")
        fraction = match["frac"] or ""
        unit = (match["unit"] or "").lower()
        scale = Decimal(_SCALES.get(unit, 1))
        try:
            value = Decimal(f"{digits}.{fraction}" if fraction else digits)
        except InvalidOperation:
            continue
        quantum = Decimal(1).scaleb(-len(fraction)) * scale
        found.append(Figure(value * scale, quantum))
    return found


def _mask(text: str) -> str:
    """Hide the dots that end no sentence (decimals, U.S., Inc.) behind NUL characters."""
    masked = _DECIMAL_POINT.sub("\0", text)
    return _ABBREVIATIONS.sub(lambda m: m.group().replace(".", "\0"), masked)


def split_sentences(text: str) -> list[str]:
    """Sentences, each with the citations written right after its full stop."""
    masked = _mask(text.strip())
    sentences: list[str] = []
    start = index = 0
    while index < len(masked):
        if masked[index] in ".!?。":
            end = index + 1
            while end < len(masked) and masked[end] in ".!?。":
                end += 1
            cites = _TRAILING_CITES.match(masked, end)
            end = cites.end() if cites else end
            if end == len(masked) or masked[end].isspace():
                sentences.append(masked[start:end])
                start = index = end
                continue
        index += 1
    sentences.append(masked[start:])
    return [s.replace("\0", ".").strip() for s in sentences if s.strip()]


def citations(sentence: str) -> list[int]:
    """The source numbers a sentence cites (`[1]`, `[1, 3]`, `[2-4]`)."""
    numbers: list[int] = []
    for match in _CITE.finditer(sentence):
        for part in re.split(r"\s*,\s*", match.group(1)):
            bounds = [int(b) for b in re.split(r"\s*[–\-]\s*", part)]
            if len(bounds) == 2:
                numbers += list(range(bounds[0], min(bounds[1], bounds[0] + 20) + 1))
            else:
                numbers.append(bounds[0])
    return numbers


def in_language(text: str, locale: Locale) -> bool:
    """Korean: most letters Hangul; English: most letters Latin."""
    letters = [c for c in _CITE.sub(" ", text) if c.isalpha()]
    if not letters:
        return False
    hangul = sum(1 for c in letters if _HANGUL.match(c))
    if locale == "ko":
        return hangul * 2 > len(letters)
    latin = sum(1 for c in letters if c.isascii())
    return latin * 2 > len(letters)


def check_synthesis(
    text: str, sources: Sequence[Source], card_figures: str, locale: Locale
) -> Verdict:
    """Whether `text` may go on the card (see the module docstring for the rules)."""
    body = text.strip()
    if not body:
        return Verdict(False, "empty answer")
    if len(body) > MAX_CHARS:
        return Verdict(False, f"longer than {MAX_CHARS} characters")
    sentences = split_sentences(body)
    if len(sentences) > MAX_SENTENCES:
        return Verdict(False, f"{len(sentences)} sentences (at most {MAX_SENTENCES})")
    if not in_language(body, locale):
        return Verdict(False, f"not written in {LANGUAGE_NAMES.get(locale, locale)}")
    by_number = {source.number: source for source in sources}
    own = figures_in(card_figures)
    for position, sentence in enumerate(sentences, start=1):
        cited = citations(sentence)
        if not cited:
            return Verdict(False, f"sentence {position} cites no source")
        missing = [n for n in cited if n not in by_number]
        if missing:
            return Verdict(False, f"sentence {position} cites [{missing[0]}], which does not exist")
        allowed = own + [f for n in cited for f in figures_in(by_number[n].text)]
        for figure in figures_in(sentence):
            if not any(figure.matches(known) for known in allowed):
                shown = format(figure.value.normalize(), "f")
                return Verdict(
                    False, f"sentence {position}: the figure {shown} is in no cited source"
                )
    return Verdict(True)


def synthesis_doc(text: str, sources: Sequence[Source], model: str) -> dict[str, Any]:
    """What is stored with the event for one language: the text and the sources it cites."""
    cited = {n for sentence in split_sentences(text) for n in citations(sentence)}
    return {
        "text": text.strip(),
        "model": model,
        "sources": [
            {"n": s.number, "kind": s.kind, "label": s.label} for s in sources if s.number in cited
        ],
    }


def summary_field(doc: Any, locale: Locale) -> CardField | None:
    """The card's synthesis section: the sentences, then which view each view number is."""
    if not isinstance(doc, Mapping) or not str(doc.get("text", "")).strip():
        return None
    lines = [str(doc["text"]).strip()]
    keys: Iterable[Mapping[str, Any]] = (
        s for s in doc.get("sources", ()) if isinstance(s, Mapping) and s.get("kind") == "view"
    )
    lines += [f"[{key.get('n')}] {key.get('label', '')}" for key in keys]
    return CardField(t("summary.field", locale), "\n".join(lines), inline=False)
