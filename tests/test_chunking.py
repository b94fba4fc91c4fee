import re

from hipbot.chunking import ChunkParams, Unit, chunk_corpus, pack_units
from hipbot.corpus import load_corpus
from hipbot.text import split_sentences
from tests.conftest import CORPUS

PARAMS = ChunkParams()


def chunks():
    return chunk_corpus(load_corpus(CORPUS), PARAMS)


def section_texts(article) -> dict[str | None, str]:
    """Each section's own text, as one string, to check that passages stay inside it."""
    out: dict[str | None, list[str]] = {None: []}
    current = None
    for block in article.blocks:
        if block.type == "heading":
            current = block.text
            out.setdefault(current, [block.text])
        else:
            out.setdefault(current, []).append(block.text)
    return {k: "\n".join(v) for k, v in out.items()}


def test_passages_never_cross_a_section_and_quote_verbatim() -> None:
    articles = {a.file: a for a in load_corpus(CORPUS)}
    for chunk in chunks():
        section = section_texts(articles[chunk.file])[chunk.section]
        for sentence in chunk.sentences:
            assert sentence in section, (chunk.source, sentence)


def test_passage_sizes() -> None:
    sizes = [c.words for c in chunks()]
    assert max(sizes) <= 250
    in_range = [s for s in sizes if 25 <= s <= 150]
    assert len(in_range) / len(sizes) > 0.85
    assert 60 <= sum(sizes) / len(sizes) <= 130


def test_faq_question_stays_with_its_answer() -> None:
    faq = next(c for c in chunks() if c.section == "What are hip flexors?")
    assert faq.sentences[0] == "What are hip flexors?"
    assert "bringing the knee closer to the chest" in faq.text


def test_transcript_turns_keep_their_speaker() -> None:
    transcript = [c for c in chunks() if c.kind == "transcript" and c.section == "Full Transcript"]
    assert transcript
    for chunk in transcript:
        for unit in chunk.units:
            assert re.match(r"^[A-Z][a-z]+ [A-Z][a-z]+ \d+:\d\d: $", unit.prefix), unit.prefix


def test_anchors_are_unique_and_stable() -> None:
    first, second = chunks(), chunks()
    assert [c.source for c in first] == [c.source for c in second]
    assert len({c.source for c in first}) == len(first)
    assert all(re.fullmatch(r"corpus/[\w.-]+\.md#[a-z0-9-]+", c.source) for c in first)


def test_long_paragraph_splits_only_at_sentence_ends() -> None:
    sentence = "The hip flexors work hard all day long when you sit at a desk for hours. "
    unit = Unit(split_sentences(sentence * 30))
    groups = pack_units([unit], ChunkParams(target_words=60, max_words=100, min_words=20))
    assert len(groups) > 1
    for group in groups:
        words = sum(u.words for u in group)
        assert words <= 100
        assert all(s.endswith(".") for u in group for s in u.sentences)


def test_small_trailing_piece_is_merged() -> None:
    units = [Unit(["word " * 50 + "end."]), Unit(["tiny tail."])]
    groups = pack_units(units, ChunkParams(target_words=50, max_words=100, min_words=20))
    assert len(groups) == 1


def test_sentence_splitting_keeps_quotes_and_abbreviations() -> None:
    text = "You know, “no pain, no gain.” But not here. Dr. Petron agrees! See the 2 feet."
    assert split_sentences(text) == [
        "You know, “no pain, no gain.”",
        "But not here.",
        "Dr. Petron agrees!",
        "See the 2 feet.",
    ]


def test_render_elides_hidden_sentences() -> None:
    chunk = chunks()[0]
    hidden = set(range(1, len(chunk.sentences)))
    text = chunk.render(hidden)
    assert text.startswith(chunk.sentences[0])
    assert "…" in text
    assert chunk.sentences[-1] not in text or len(chunk.sentences) == 1
