"""Chunking that follows the articles' structure: sections, paragraphs, FAQ answers, transcript turns."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from .corpus import Article
from .text import slugify, split_sentences, word_count

CHUNKER_VERSION = 2
ELISION = "…"


@dataclass(frozen=True)
class ChunkParams:
    """How passages are sized, in words."""

    target_words: int = 110
    max_words: int = 200
    min_words: int = 40


@dataclass
class Unit:
    """A paragraph, list item or transcript turn (or a piece of one), kept as verbatim sentences."""

    sentences: list[str]
    prefix: str = ""

    @property
    def words(self) -> int:
        """Words in the unit, prefix included."""
        return word_count(self.prefix) + sum(word_count(s) for s in self.sentences)


@dataclass
class Chunk:
    """One passage: whole units from a single section of a single article."""

    id: int
    file: str
    title: str
    slug: str
    kind: str
    url: str | None
    section: str | None
    anchor: str
    position: int
    units: list[Unit]
    flags: list[str] = field(default_factory=list)  # per sentence: "p" product, "c" commercial
    parent: str | None = None  # the heading this passage's section sits under (None at the top level)

    @property
    def source(self) -> str:
        """The citation: `corpus/<file>.md#<anchor>`."""
        return f"{self.file}#{self.anchor}"

    @property
    def sentences(self) -> list[str]:
        """Every sentence of the passage, in order."""
        return [s for unit in self.units for s in unit.sentences]

    def render(self, hide: set[int] | None = None) -> str:
        """The passage text; sentences whose flat index is in `hide` are elided with "…"."""
        hide = hide or set()
        lines: list[str] = []
        index = 0
        for unit in self.units:
            parts: list[str] = []
            for sentence in unit.sentences:
                if index in hide:
                    if not parts or parts[-1] != ELISION:
                        parts.append(ELISION)
                else:
                    parts.append(sentence)
                index += 1
            if any(p != ELISION for p in parts):
                lines.append(unit.prefix + " ".join(parts))
            elif lines and lines[-1] != ELISION:
                lines.append(ELISION)
        return "\n".join(lines)

    @property
    def text(self) -> str:
        """The whole passage, verbatim."""
        return self.render()

    @property
    def words(self) -> int:
        """Words in the whole passage."""
        return sum(unit.words for unit in self.units)

    def to_record(self) -> dict[str, Any]:
        """A JSON-ready record."""
        return asdict(self)

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Chunk:
        """Rebuild a chunk from its record."""
        data = dict(record)
        data["units"] = [Unit(**u) for u in data["units"]]
        return cls(**data)


def _split_unit(unit: Unit, target: int) -> list[Unit]:
    """Split an over-long unit at sentence ends into roughly equal pieces, each keeping the prefix."""
    if unit.words <= target or len(unit.sentences) < 2:
        return [unit]
    pieces = math.ceil(unit.words / target)
    share = unit.words / pieces
    out: list[Unit] = []
    current: list[str] = []
    size = 0
    for sentence in unit.sentences:
        current.append(sentence)
        size += word_count(sentence)
        if size >= share and len(out) < pieces - 1:
            out.append(Unit(current, unit.prefix))
            current, size = [], 0
    if current:
        out.append(Unit(current, unit.prefix))
    return out


def _section_units(article: Article) -> list[tuple[str | None, str | None, list[Unit]]]:
    """Group an article's body into sections: heading, the heading it sits under, and its units."""
    sections: list[tuple[str | None, str | None, list[Unit]]] = [(None, None, [])]
    open_headings: list[tuple[int, str]] = []  # (level, text) of the headings above
    speaker = ""
    for block in article.blocks:
        if block.type == "heading":
            while open_headings and open_headings[-1][0] >= block.level:
                open_headings.pop()
            parent = open_headings[-1][1] if open_headings else None
            open_headings.append((block.level, block.text))
            sections.append((block.text, parent, []))
            speaker = ""
            if block.text.endswith("?"):
                sections[-1][2].append(Unit([block.text]))
        elif block.type == "speaker":
            speaker = f"{block.text}: "
        else:
            prefix = "- " if block.type == "item" else speaker
            sections[-1][2].append(Unit(split_sentences(block.text), prefix))
    return [(heading, parent, units) for heading, parent, units in sections if _has_body(units)]


def _has_body(units: list[Unit]) -> bool:
    """A section counts when it holds more than a bare question heading."""
    return len(units) > 1 or (len(units) == 1 and not units[0].sentences[-1].endswith("?"))


def pack_units(units: list[Unit], params: ChunkParams) -> list[list[Unit]]:
    """Pack whole units into passages near the target size, never over the maximum where avoidable."""
    pieces = [piece for unit in units for piece in _split_unit(unit, params.target_words)]
    groups: list[list[Unit]] = []
    current: list[Unit] = []
    size = 0
    for piece in pieces:
        too_big = size + piece.words > params.target_words and size >= params.min_words
        if current and (too_big or size + piece.words > params.max_words):
            groups.append(current)
            current, size = [], 0
        current.append(piece)
        size += piece.words
    if current:
        groups.append(current)
    if len(groups) > 1:
        tail = sum(u.words for u in groups[-1])
        if tail < params.min_words and sum(u.words for u in groups[-2]) + tail <= params.max_words:
            groups[-2].extend(groups.pop())
    return groups


def chunk_article(article: Article, params: ChunkParams, first_id: int = 0) -> list[Chunk]:
    """Cut one article into passages that never cross a section."""
    chunks: list[Chunk] = []
    used: set[str] = set()
    for heading, parent, units in _section_units(article):
        base = slugify(heading) if heading else "introduction"
        for group in pack_units(units, params):
            anchor, n = base, 1
            while anchor in used:
                n += 1
                anchor = f"{base}-{n}"
            used.add(anchor)
            chunks.append(
                Chunk(
                    id=first_id + len(chunks),
                    file=article.file,
                    title=article.title,
                    slug=article.slug,
                    kind=article.kind,
                    url=article.url,
                    section=heading,
                    anchor=anchor,
                    position=len(chunks),
                    units=group,
                    parent=parent,
                )
            )
    return chunks


def chunk_corpus(articles: list[Article], params: ChunkParams) -> list[Chunk]:
    """Cut every article into passages, numbered across the corpus."""
    chunks: list[Chunk] = []
    for article in articles:
        chunks.extend(chunk_article(article, params, first_id=len(chunks)))
    return chunks
