"""Regenerate corpus/ from the seed scrape of the Aletha hip-health blog.

The seed (/work/shared/seed/000_0b46af3d3b7d482b.txt) is about ten blog
articles run together, one source line per paragraph, heading or list item.
This script splits it into one Markdown file per article, corpus/NN-slug.md,
with `title` / `slug` / `kind` front matter, then verifies the result and
prints a summary.  It exits non-zero if the verification fails.

Content text is copied byte-for-byte: nothing is rewritten, merged or fixed
(typos such as "Rreleasing" and "Tight Hi, Twisted Core" stay).  The only
lines left out are the scraping noise listed in NOISE and the cut-off tail
fragments in TRUNCATED_TAILS.

Usage: python3 scripts/import_seed.py [SEED_FILE]      (stdlib only)
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
DEFAULT_SEED = Path("/work/shared/seed/000_0b46af3d3b7d482b.txt")

# Article title lines, in source order: (title exactly as in the source, slug, kind).
ARTICLES = [
    ("The Best Hip Flexor Stretches for Tight Hips", "best-hip-flexor-stretches", "article"),
    (
        "Are Your Muscles Roadtrip Ready? How to Avoid Hip Pain During a Long Drive",
        "hip-pain-long-drive",
        "article",
    ),
    ("Why Do I Have Lower Back and Hip Pain After Surgery?", "back-and-hip-pain-after-surgery", "article"),
    (
        "Dr. Bri Talks Lady Bits Podcast – The Effect of the Iliacus on Digestion and Pelvic Health with Christine Koth",  # noqa: E501
        "iliacus-digestion-pelvic-health-podcast",
        "transcript",
    ),
    ("Hip Hook vs. Pso-Rite: Psoas release tool showdown", "hip-hook-vs-pso-rite", "product"),
    ("What is the Current Hip Hook Promo Code?", "hip-hook-promo-code", "product"),
    (
        "Why Do I Get Hip Pain From Stretching? For Dancers, Gymnasts, and Yogis",
        "hip-pain-from-stretching",
        "article",
    ),
    ("Managing Hip Pain While Cycling", "hip-pain-while-cycling", "article"),
    (
        "Sciatica Pain Relief While Sitting: A Surprisingly Simple Natural Remedy",
        "sciatica-relief-while-sitting",
        "article",
    ),
    ("Yoga for Tight Hip Flexors: Stretch Safely, Stay Healthy", "yoga-for-tight-hip-flexors", "article"),
]

# Scraping noise, dropped entirely (reviewed line by line against the seed).
NOISE = {
    "Your cart is currently empty!",  # site chrome
    "Category: Pain",  # site chrome
    "[Read more from Aletha: Deep Dive into the Anatomy of the Hip Flexor Muscles]",  # link box
    "Kneeling, it looks like this:",  # caption of a missing image
    "Standing, it looks like this:",  # caption of a missing image
    "Watch on YouTube.",  # embedded-video link
    "For the chart people:",  # caption of a missing table
    "Hip Hook vs Pso-Rite comparison",  # table caption heading, no table follows
    # captions of two embedded videos:
    "Renowned Tri-Athlete Matt Hanson shows us the differences in his ‘Ask the Pro(f)‘ breakdown.",
    "Bobby & David briefly describe the differences between the two products.",
    "In addition, happy hip flexors, the Hip Hook",  # sentence cut off at the end of an article
}

# Lines cut off mid-word at the end of the scrape: the trailing fragment is dropped,
# the complete sentences before it are kept.
TRUNCATED_TAILS = [" I think I had it fro"]

# Heading lines that end with a colon (other colon-ending lines are content, e.g.
# "Here are Aletha’s current Hip Hook promo deals:"). The colon is dropped.
COLON_HEADINGS = {
    "Hip flexor stretch FAQs:",
    "FAQs about lower back and hip pain after surgery:",
    "Show Notes:",
    "Full Transcript:",
}

# Sub-headings written as `###` (besides numbered tips "1. ..." and FAQ questions).
SUBHEADINGS = {
    "Half-Kneeling Hip Flexor Stretch",
    "Standing Hip Flexor Stretch",
    "Couch Stretch",
    "Standing Quad Stretch",
    "Strength training for lower back and hip pain",
    "Stretching",
    "Muscle relaxation for lower back and hip pain",
    "Muscle release for lower back and hip pain",
    "Hip impingement",
    "Hip dysplasia",
    "Osteoarthritis",
    "Tight iliopsoas for cyclists",
    "Muscular imbalance in the pelvis and psoas",
    "Improper bike fit and iliopsoas tension",
    "Best stretches for sciatica",
    "Self massage for sciatica",
    "Sitting and sciatica pain relief",
}

FAQ_BLOCK = re.compile(r"\bFAQs\b|^Frequently asked questions\b")
NUMBERED = re.compile(r"^\d+\. ")
SPEAKER = re.compile(r"^[A-Z][a-z]+ [A-Z][a-z]+ \d{1,2}:\d{2}$")  # "Christine Koth 1:08"
MARKDOWN_SYNTAX = re.compile(r"^(#|>|[-*+] |\d+[.)] |\*\*|---)")  # a paragraph must not start like this


def is_heading(line: str, kind: str) -> bool:
    """A heading is a short line without final sentence punctuation, or a short question."""
    if line in COLON_HEADINGS:
        return True
    if kind == "transcript" or line.startswith("- ") or len(line) > 100:
        return False  # transcript turns are text even when they end with "?"
    return not line.endswith((".", "!", ":"))


def classify(lines: list[str]) -> list[tuple[str, str, int]]:
    """Label each seed line as (label, text, article index); label is one of
    noise, title, heading2, heading3, speaker, item, truncated, paragraph."""
    titles = {title: i for i, (title, _, _) in enumerate(ARTICLES)}
    out, article, in_faq = [], -1, False
    for line in lines:
        kind = ARTICLES[article][2] if article >= 0 else ""
        if line in NOISE or not line.strip():
            out.append(("noise", line, article))
        elif line in titles:
            article, in_faq = titles[line], False
            out.append(("title", line, article))
        elif article < 0:
            raise SystemExit(f"content before the first article title: {line[:60]!r}")
        elif kind == "transcript" and SPEAKER.match(line):
            out.append(("speaker", line, article))
        elif is_heading(line, kind):
            if FAQ_BLOCK.search(line):
                in_faq, level = True, 2
            elif in_faq or NUMBERED.match(line) or line in SUBHEADINGS:
                level = 3
            else:
                level = 2
            out.append((f"heading{level}", line, article))
        elif line.startswith("- "):
            out.append(("item", line, article))
        elif any(line.endswith(tail) for tail in TRUNCATED_TAILS):
            out.append(("truncated", line, article))
        else:
            out.append(("paragraph", line, article))
    return out


def keep_part(line: str) -> str:
    """The complete sentences of a truncated line (its cut-off tail removed)."""
    for tail in TRUNCATED_TAILS:
        if line.endswith(tail):
            return line[: -len(tail)]
    return line


def render(labelled: list[tuple[str, str, int]]) -> dict[str, str]:
    """Markdown text per file name."""
    blocks: dict[int, list[str]] = {i: [] for i in range(len(ARTICLES))}
    for label, text, article in labelled:
        body = blocks.get(article)
        if label in ("noise", "title"):
            continue
        if label.startswith("heading"):
            hashes = "#" * int(label[-1])
            body.append(f"{hashes} {text[:-1] if text.endswith(':') else text}")
        elif label == "speaker":
            body.append(f"**{text}**")
        elif label == "item" and body and body[-1].startswith("- "):
            body[-1] += "\n" + text  # consecutive items form one tight list
        else:
            body.append(keep_part(text))
    files = {}
    for i, (title, slug, kind) in enumerate(ARTICLES):
        front = f"---\ntitle: {title}\nslug: {slug}\nkind: {kind}\n---\n"
        files[f"{i + 1:02d}-{slug}.md"] = front + "\n" + "\n\n".join(blocks[i]) + "\n"
    return files


def verify(labelled: list[tuple[str, str, int]], files: dict[str, str]) -> list[str]:
    """Problems found when checking the written corpus against the seed (empty list = OK)."""
    problems = []
    bodies, expected_lines = {}, Counter()
    for name, text in files.items():
        lines = text.split("\n")
        end = lines.index("---", 1) if lines[0] == "---" and "---" in lines[1:] else 0
        fields = dict(line.partition(": ")[::2] for line in lines[1:end])
        if not end or set(fields) != {"title", "slug", "kind"} or not all(fields.values()):
            problems.append(f"{name}: front matter missing or incomplete")
        body = [line for line in lines[end + 1 :] if line]
        bodies[name] = Counter(body)
        if not any(not line.startswith(("#", "**")) for line in body):
            problems.append(f"{name}: no text after the front matter")
    names = list(files)
    for label, text, article in labelled:
        if label == "noise":
            wanted = None
        elif label == "title":
            ok = f"title: {text}" in files[names[article]].split("\n")[1:5]
            problems += [] if ok else [f"title not in front matter: {text!r}"]
            continue
        elif label.startswith("heading"):
            wanted = "#" * int(label[-1]) + " " + (text[:-1] if text.endswith(":") else text)
        elif label == "speaker":
            wanted = f"**{text}**"
        else:
            wanted = keep_part(text)
            if label == "paragraph" and MARKDOWN_SYNTAX.match(text):
                problems.append(f"paragraph would be read as Markdown syntax: {text[:60]!r}")
        if wanted is None:
            if any(text in body for body in bodies.values()):
                problems.append(f"dropped line still present: {text[:60]!r}")
            continue
        expected_lines[wanted] += 1
        holders = [n for n, body in bodies.items() if wanted in body]
        if holders != [names[article]]:
            problems.append(f"expected in exactly {names[article]}, found in {holders}: {wanted[:60]!r}")
    for name, counts in bodies.items():  # nothing invented, nothing duplicated
        for line, count in counts.items():
            if count > expected_lines[line]:
                problems.append(f"{name}: unexpected line {line[:60]!r}")
    seen = {text for _, text, _ in labelled}  # every table entry must still match the seed
    tables = {
        "NOISE": NOISE,
        "SUBHEADINGS": SUBHEADINGS,
        "COLON_HEADINGS": COLON_HEADINGS,
        "ARTICLES": [title for title, _, _ in ARTICLES],
    }
    for table, entries in tables.items():
        problems += [f"{table} entry not found in the seed: {e!r}" for e in entries if e not in seen]
    for tail in TRUNCATED_TAILS:
        if sum(lab == "truncated" and text.endswith(tail) for lab, text, _ in labelled) != 1:
            problems.append(f"truncated tail not found exactly once: {tail!r}")
    return problems


def summary(files: dict[str, str]) -> None:
    """Per file: sections (## and ### headings), paragraphs (incl. list items, excl. speaker lines), words."""
    print(f"{'file':48} {'kind':10} {'sections':>8} {'paras':>6} {'words':>6}")
    for name, text in files.items():
        body = text.split("\n---\n", 1)[1].split("\n")
        kind = re.search(r"^kind: (\S+)$", text, re.M).group(1)
        sections = sum(line.startswith(("## ", "### ")) for line in body)
        paras = [line for line in body if line and not line.startswith(("#", "**"))]
        words = sum(len(line.removeprefix("- ").split()) for line in paras)
        print(f"{name:48} {kind:10} {sections:>8} {len(paras):>6} {words:>6}")


def main() -> int:
    seed = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SEED
    lines = seed.read_text(encoding="utf-8").split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # trailing newline, not a line
    labelled = classify(lines)
    files = render(labelled)
    CORPUS.mkdir(exist_ok=True)
    for old in CORPUS.glob("[0-9][0-9]-*.md"):
        old.unlink()  # regenerate: remove files of a previous run
    for name, text in files.items():
        (CORPUS / name).write_text(text, encoding="utf-8")
    written = {name: (CORPUS / name).read_text(encoding="utf-8") for name in files}
    dropped = sum(label == "noise" for label, _, _ in labelled)
    print(f"wrote {len(files)} files to {CORPUS}; dropped {dropped} noise lines")
    summary(written)
    problems = verify(labelled, written)
    for problem in problems:
        print("FAIL:", problem, file=sys.stderr)
    print("verification:", "FAILED" if problems else "OK")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
