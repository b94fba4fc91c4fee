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
QUESTIONS_SUFFIX = ".questions.md"
INTRODUCTION = "(introduction)"
UNANSWERED_FILE = "not-answered" + QUESTIONS_SUFFIX  # questions on topic that the articles don't answer


class CorpusError(ValueError):
    """A corpus file that cannot be used; the message names the file, the line and how to fix it."""

    def __init__(self, path: Path, message: str, line: int | None = None) -> None:
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}: {message}")
        self.path = path
        self.line = line
        self.problem = message

    def as_dict(self) -> dict[str, object]:
        """The problem for /health and the index manifest."""
        return {"file": self.path.name, "line": self.line, "problem": self.problem}


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


FIX_FRONT_MATTER = "start the file with '---', then 'title: ...', 'slug: ...', 'kind: article', then '---'"


def parse_front_matter(path: Path, text: str) -> tuple[dict[str, str], str, int]:
    """Split `---`-fenced `key: value` front matter from the body, validating each field; returns the
    fields, the body and the line number where the body starts."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        raise CorpusError(path, f"missing front matter: {FIX_FRONT_MATTER}", 1)
    try:
        end = next(i for i, line in enumerate(lines[1:], start=1) if line.strip() == "---")
    except StopIteration:
        raise CorpusError(
            path, "front matter is not closed: add a '---' line after its last field", 1
        ) from None
    meta: dict[str, str] = {}
    at: dict[str, int] = {}
    for number, line in enumerate(lines[1:end], start=2):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, value = line.partition(":")
        key = key.strip()
        if not sep or not key:
            raise CorpusError(path, f"front matter lines are 'field: value', got {line.strip()!r}", number)
        if key not in KNOWN_FIELDS:
            raise CorpusError(
                path, f"unknown front matter field '{key}': use one of {', '.join(KNOWN_FIELDS)}", number
            )
        meta[key] = value.strip().strip("\"'").strip()
        at[key] = number
    for name in REQUIRED_FIELDS:
        if not meta.get(name):
            raise CorpusError(
                path, f"front matter field '{name}' is missing or empty: add '{name}: ...'", end + 1
            )
    if meta["kind"] not in KINDS:
        raise CorpusError(
            path, f"front matter field 'kind' is '{meta['kind']}': use one of {', '.join(KINDS)}", at["kind"]
        )
    if not SLUG_PATTERN.match(meta["slug"]):
        raise CorpusError(
            path,
            f"front matter field 'slug' is '{meta['slug']}': use lowercase-words-like-this",
            at["slug"],
        )
    url = meta.get("url")
    if url and not url.startswith(("http://", "https://")):
        raise CorpusError(
            path, f"front matter field 'url' is '{url}': use an address starting with https://", at["url"]
        )
    return meta, "\n".join(lines[end + 1 :]), end + 2


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
        raise CorpusError(path, "is not UTF-8 text: save it as UTF-8 in your editor") from None
    meta, body, body_line = parse_front_matter(path, text)
    blocks = parse_blocks(body)
    if not any(block.type in ("paragraph", "item") for block in blocks):
        raise CorpusError(path, "has no text after the front matter: add the article's text", body_line)
    return Article(path, meta["title"], meta["slug"], meta["kind"], meta.get("url") or None, blocks)


def corpus_files(corpus_dir: Path) -> list[Path]:
    """The article files of a corpus folder, in name order."""
    if not corpus_dir.is_dir():
        raise CorpusError(
            corpus_dir, "corpus folder not found (set HIPBOT_CORPUS_DIR to the articles' folder)"
        )
    files = sorted(
        p
        for p in corpus_dir.iterdir()
        if p.is_file()
        and p.suffix.lower() == ".md"
        and p.name.lower() != "readme.md"
        and not p.name.lower().endswith(QUESTIONS_SUFFIX)
        and not p.name.startswith(".")
    )
    if not files:
        raise CorpusError(corpus_dir, "holds no Markdown articles (*.md)")
    return files


def read_corpus(corpus_dir: Path) -> tuple[list[Article], list[CorpusError]]:
    """Every usable article of the corpus folder, and every problem of the ones left out."""
    articles: list[Article] = []
    problems: list[CorpusError] = []
    seen: dict[str, Path] = {}
    for path in corpus_files(corpus_dir):
        try:
            article = load_article(path)
        except CorpusError as exc:
            problems.append(exc)
            continue
        if article.slug in seen:
            problems.append(
                CorpusError(
                    path,
                    f"slug '{article.slug}' is already used by {seen[article.slug].name}: give it another",
                    _line_of(path, "slug:"),
                )
            )
            continue
        seen[article.slug] = path
        articles.append(article)
    if not articles:
        first = problems[0] if problems else CorpusError(corpus_dir, "holds no usable articles")
        raise CorpusError(corpus_dir, f"no usable article: {first}")
    return articles, problems


def load_corpus(corpus_dir: Path) -> list[Article]:
    """Load every article of the corpus folder, failing on the first problem (see `read_corpus`)."""
    articles, problems = read_corpus(corpus_dir)
    if problems:
        raise problems[0]
    return articles


def _line_of(path: Path, prefix: str) -> int | None:
    for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), start=1):
        if line.strip().startswith(prefix):
            return number
    return None


def corpus_hash(corpus_dir: Path) -> str:
    """A hash of every article and questions file's name and bytes: it changes whenever the corpus does."""
    digest = hashlib.sha256()
    for path in sorted([*corpus_files(corpus_dir), *question_files(corpus_dir)]):
        digest.update(path.name.encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


@dataclass(frozen=True)
class VisitorQuestion:
    """A question visitors ask, and what in an article answers it: a section heading (None for the
    introduction) or a phrase quoted from the answering passage."""

    question: str
    article: Path
    section: str | None = None
    phrase: str | None = None
    line: int = 0


def question_files(corpus_dir: Path) -> list[Path]:
    """The questions files beside the articles (`<article>.questions.md`)."""
    return sorted(corpus_dir.glob(f"*{QUESTIONS_SUFFIX}")) if corpus_dir.is_dir() else []


def parse_questions(path: Path, article: Article) -> list[VisitorQuestion]:
    """Read a questions file: `## <heading, (introduction) or "quoted phrase">` then `- question` lines."""
    headings = {b.text for b in article.blocks if b.type == "heading"}
    body = " ".join(b.text for b in article.blocks)
    section: str | None = None
    phrase: str | None = None
    target_seen = False
    out: list[VisitorQuestion] = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if line.startswith("## "):
            target = line[3:].strip()
            target_seen = True
            section = phrase = None
            if target.startswith('"') and target.endswith('"') and len(target) > 2:
                phrase = target[1:-1]
                if phrase not in body:
                    raise CorpusError(
                        path, f"line {number}: the phrase {target} is not in {article.path.name}"
                    )
            elif target != INTRODUCTION:
                if target not in headings:
                    raise CorpusError(
                        path,
                        f"line {number}: '{target}' is not a heading of {article.path.name} "
                        f'(use a heading\'s exact text, {INTRODUCTION} or a "quoted phrase")',
                    )
                section = target
        elif line.startswith(("- ", "* ")):
            if not target_seen:
                raise CorpusError(path, "a question comes before any '## ' heading: add one above it", number)
            question = line[2:].strip()
            if question:
                out.append(VisitorQuestion(question, article.path, section, phrase, number))
    return out


def read_questions(
    corpus_dir: Path, articles: list[Article]
) -> tuple[list[VisitorQuestion], list[CorpusError]]:
    """Every visitor question of the corpus, checked against its article, and the problems of the
    questions files left out (the questions of an article that was itself left out are skipped)."""
    by_name = {a.path.name: a for a in articles}
    out: list[VisitorQuestion] = []
    problems: list[CorpusError] = []
    for path in question_files(corpus_dir):
        if path.name == UNANSWERED_FILE:
            continue
        article_name = path.name[: -len(QUESTIONS_SUFFIX)] + ".md"
        article = by_name.get(article_name)
        if article is None:
            if not (corpus_dir / article_name).exists():
                problems.append(
                    CorpusError(
                        path,
                        f"has no article beside it: name it after its article, <article>{QUESTIONS_SUFFIX}",
                    )
                )
            continue
        try:
            out.extend(parse_questions(path, article))
        except CorpusError as exc:
            problems.append(exc)
    return out, problems


def load_questions(corpus_dir: Path, articles: list[Article]) -> list[VisitorQuestion]:
    """Every visitor question of the corpus, failing on the first problem (see `read_questions`)."""
    questions, problems = read_questions(corpus_dir, articles)
    if problems:
        raise problems[0]
    return questions


def load_unanswered(corpus_dir: Path) -> list[str]:
    """The on-topic questions the articles don't answer (`not-answered.questions.md`, `- question` lines):
    they teach hipbot when to say so."""
    path = corpus_dir / UNANSWERED_FILE
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.strip()[2:].strip() for line in lines if line.strip().startswith(("- ", "* "))]
