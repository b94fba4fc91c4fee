from pathlib import Path

import pytest

from hipbot.corpus import CorpusError, corpus_hash, load_article, load_corpus, parse_blocks
from tests.conftest import CORPUS

NOISE = (
    "Your cart is currently empty!",
    "Category: Pain",
    "Watch on YouTube.",
    "[Read more from",
    "it looks like this:",
)


def test_real_corpus_loads_with_valid_front_matter() -> None:
    articles = load_corpus(CORPUS)
    assert 8 <= len(articles) <= 14
    assert {a.kind for a in articles} == {"article", "transcript", "product"}
    assert len({a.slug for a in articles}) == len(articles)
    for article in articles:
        assert article.title and article.file.startswith("corpus/")


def test_corpus_has_no_scraping_noise() -> None:
    text = "\n".join(p.read_text(encoding="utf-8") for p in CORPUS.glob("*.md"))
    for noise in NOISE:
        assert noise not in text


def test_faq_questions_and_speakers_are_structured() -> None:
    articles = {a.slug: a for a in load_corpus(CORPUS)}
    stretches = articles["best-hip-flexor-stretches"]
    headings = [b.text for b in stretches.blocks if b.type == "heading"]
    assert "What are hip flexors?" in headings
    transcript = next(a for a in articles.values() if a.kind == "transcript")
    assert any(b.type == "speaker" and b.text.startswith("Christine Koth") for b in transcript.blocks)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("front_matter", "expected"),
    [
        ("title: T\nslug: t\n", "'kind' is missing"),
        ("title: T\nkind: article\n", "'slug' is missing"),
        ("slug: t\nkind: article\n", "'title' is missing"),
        ("title: T\nslug: t\nkind: recipe\n", "'kind' is 'recipe'"),
        ("title: T\nslug: Bad Slug\nkind: article\n", "'slug' is 'Bad Slug'"),
        ("title: T\nslug: t\nkind: article\nurl: ftp://x\n", "'url'"),
        ("title: T\nslug: t\nkind: article\nauthor: me\n", "unknown front matter field 'author'"),
    ],
)
def test_front_matter_errors_name_the_file_and_field(
    tmp_path: Path, front_matter: str, expected: str
) -> None:
    path = write(tmp_path / "broken.md", f"---\n{front_matter}---\n\nSome text.\n")
    with pytest.raises(CorpusError) as error:
        load_article(path)
    assert "broken.md" in str(error.value)
    assert expected in str(error.value)


def test_missing_front_matter_and_duplicate_slugs(tmp_path: Path) -> None:
    write(tmp_path / "a.md", "Just text.\n")
    with pytest.raises(CorpusError, match=r"a\.md:1: missing front matter: start the file with '---'"):
        load_corpus(tmp_path)
    write(tmp_path / "a.md", "---\ntitle: A\nslug: same\nkind: article\n---\nText.\n")
    write(tmp_path / "b.md", "---\ntitle: B\nslug: same\nkind: article\n---\nText.\n")
    with pytest.raises(CorpusError, match=r"b\.md:3: slug 'same' is already used by a\.md"):
        load_corpus(tmp_path)


def test_empty_or_missing_corpus_folder(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="no Markdown articles"):
        load_corpus(tmp_path)
    with pytest.raises(CorpusError, match="HIPBOT_CORPUS_DIR"):
        load_corpus(tmp_path / "nowhere")


def test_a_dropped_in_article_changes_the_hash(corpus_copy: Path) -> None:
    before = corpus_hash(corpus_copy)
    write(corpus_copy / "99-new.md", "---\ntitle: New\nslug: new-article\nkind: article\n---\n\nHips.\n")
    assert corpus_hash(corpus_copy) != before
    assert any(a.slug == "new-article" for a in load_corpus(corpus_copy))


def test_blocks_keep_list_items_and_headings() -> None:
    blocks = parse_blocks(
        "## Head\n\nA line\ncontinued.\n\n- item one\n- item two\n\n**Speaker 1:00**\n\nHi."
    )
    assert [b.type for b in blocks] == ["heading", "paragraph", "item", "item", "speaker", "paragraph"]
    assert blocks[1].text == "A line continued."


def test_every_problem_is_reported_with_its_line_and_the_good_articles_kept(tmp_path: Path) -> None:
    from hipbot.corpus import read_corpus

    write(tmp_path / "good.md", "---\ntitle: Good\nslug: good\nkind: article\n---\n\nHips.\n")
    write(tmp_path / "kind.md", "---\ntitle: K\nslug: k\nkind: blog\n---\n\nText.\n")
    write(tmp_path / "empty.md", "---\ntitle: E\nslug: e\nkind: article\n---\n\n")
    articles, problems = read_corpus(tmp_path)
    assert [a.slug for a in articles] == ["good"]
    found = {p.path.name: (p.line, p.problem) for p in problems}
    assert found["kind.md"][0] == 4 and "use one of article, transcript, product" in found["kind.md"][1]
    assert found["empty.md"][0] == 6 and "add the article's text" in found["empty.md"][1]
