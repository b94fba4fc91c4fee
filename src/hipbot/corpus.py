"""The corpus: Markdown articles with front matter, loaded and validated."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

KINDS = ("article", "transcript", "product")
REQUIRED_FIELDS = ("title", "slug", "kind")
KNOWN_FIELDS = (*REQUIRED_FIELDS, "url")
SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
HEADING_PATTERN = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
SPEAKER_PATTERN = re.compile(r"^\*\*(.+?)\*\*$")


class CorpusError(ValueError):
    """A corpus file that cannot be used; the message names the file and the problem."""

    def __init__(self, path: Path, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path


@dataclass(frozen=True)
class Block:
    """One unit of an article's body: a heading, a paragraph, a list item or a transcript speaker line."""

    type: str  # "heading" | "paragraph" | "item" | "speaker"
    text: str
    level: int = 0


@dataclass
class Article:
    """One article of the corpus."""

    path: Path
    title: str
    slug: str
    kind: str
    url: str | None
    blocks: list[Block] = field(default_factory=list)

    @property
    def file(self) -> str:
        """The path shown in citations, relative to the project: `corpus/<file>.md`."""
        return f"corpus/{self.path.name}"


def parse_front_matter(path: Path, text: str) -> tuple[dict[str, str], str]:
    """Split `---`-fenced `key: value` front matter from the body, validating each field."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        raise CorpusError(path, "missing front matter: the file must start with a '---' line")
    try:
        end = next(i for i, line in enumerate(lines[1:], start=1) if line.strip() == "---")
    except StopIteration:
        raise CorpusError(path, "front matter is not closed with a '---' line") from None
    meta: dict[str, str] = {}
    for number, line in enumerate(lines[1:end], start=2):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, value = line.partition(":")
        key = key.strip()
        if not sep or not key:
            raise CorpusError(path, f"line {number}: front matter lines are 'field: value', got {line!r}")
        if key not in KNOWN_FIELDS:
            raise CorpusError(path, f"unknown front matter field '{key}' (known: {', '.join(KNOWN_FIELDS)})")
        meta[key] = value.strip().strip("\"'").strip()
    for name in REQUIRED_FIELDS:
        if not meta.get(name):
            raise CorpusError(path, f"front matter field '{name}' is missing or empty")
    if meta["kind"] not in KINDS:
        raise CorpusError(path, f"front matter field 'kind' is '{meta['kind']}', expected one of {KINDS}")
    if not SLUG_PATTERN.match(meta["slug"]):
        raise CorpusError(
            path, f"front matter field 'slug' is '{meta['slug']}', use lowercase-words-like-this"
        )
    url = meta.get("url")
    if url and not url.startswith(("http://", "https://")):
        raise CorpusError(path, f"front matter field 'url' is '{url}', expected an http(s) address")
    return meta, "\n".join(lines[end + 1 :])


def parse_blocks(body: str) -> list[Block]:
    """Read a Markdown body into headings, paragraphs, list items and speaker lines."""
    blocks: list[Block] = []
    paragraph: list[str] = []

    def flush() -> None:
        if paragraph:
            blocks.append(Block("paragraph", " ".join(paragraph)))
            paragraph.clear()

    for raw in body.splitlines():
        line = raw.strip()
        if not line:
            flush()
            continue
        heading = HEADING_PATTERN.match(line)
        speaker = SPEAKER_PATTERN.match(line)
        if heading:
            flush()
            blocks.append(Block("heading", heading.group(2).strip(), len(heading.group(1))))
        elif speaker:
            flush()
            blocks.append(Block("speaker", speaker.group(1).strip()))
        elif line.startswith(("- ", "* ")):
            flush()
            blocks.append(Block("item", line[2:].strip()))
        else:
            paragraph.append(line)
    flush()
    return blocks


def load_article(path: Path) -> Article:
    """Load and validate one Markdown article."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise CorpusError(path, "is not UTF-8 text") from None
    meta, body = parse_front_matter(path, text)
    blocks = parse_blocks(body)
    if not any(block.type in ("paragraph", "item") for block in blocks):
        raise CorpusError(path, "has no text after the front matter")
    return Article(path, meta["title"], meta["slug"], meta["kind"], meta.get("url") or None, blocks)


def corpus_files(corpus_dir: Path) -> list[Path]:
    """The article files of a corpus folder, in name order."""
    if not corpus_dir.is_dir():
        raise CorpusError(
            corpus_dir, "corpus folder not found (set HIPBOT_CORPUS_DIR to the articles' folder)"
        )
    files = sorted(p for p in corpus_dir.glob("*.md") if p.name.lower() != "readme.md")
    if not files:
        raise CorpusError(corpus_dir, "holds no Markdown articles (*.md)")
    return files


def load_corpus(corpus_dir: Path) -> list[Article]:
    """Load every article of the corpus folder; slugs must be unique."""
    articles = [load_article(path) for path in corpus_files(corpus_dir)]
    seen: dict[str, Path] = {}
    for article in articles:
        if article.slug in seen:
            raise CorpusError(
                article.path, f"slug '{article.slug}' is already used by {seen[article.slug].name}"
            )
        seen[article.slug] = article.path
    return articles


def corpus_hash(corpus_dir: Path) -> str:
    """A hash of every article file's name and bytes: it changes whenever the corpus does."""
    digest = hashlib.sha256()
    for path in corpus_files(corpus_dir):
        digest.update(path.name.encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()
