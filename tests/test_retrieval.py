import numpy as np
import pytest

from hipbot.conversation import LONG_TURN_WORDS, is_followup, resolve_query, search_texts
from hipbot.fusion import fuse, saturate, top_indices
from hipbot.schema import Turn

# Questions written for these tests (none from an evaluation file), each with the section that answers it.
ANSWERED = [
    ("What stretch targets the rectus femoris with my foot against a wall?", "Couch Stretch"),
    ("Which sitting positions can ease sciatica at my desk?", None),
    ("Why does my psoas pull my spine into an arch?", None),
    ("What does a painful clicking hip while riding a bike mean?", "1. Snapping hip syndrome in cyclists"),
    (
        "Is surgery usually needed for sciatica and lower back pain?",
        "Do I need surgery for my lower back pain and sciatica?",
    ),
]


@pytest.mark.parametrize(("question", "section"), ANSWERED)
def test_questions_find_their_passage(bot, question: str, section: str | None) -> None:
    found = bot.retriever.search([question], 5)
    assert found.relevant
    if section:
        assert section in [hit.chunk.section for hit in found.hits[:3]]
    assert found.hits[0].score >= found.hits[-1].score


def test_topic_words_reach_the_right_article(bot) -> None:
    cases = {
        "sciatic nerve pain when sitting": "sciatica",
        "hip pain on long road trips": "drive",
        "yoga poses and tight hip flexors": "yoga",
        "pedaling and hip flexor pain": "cycling",
    }
    for question, file_part in cases.items():
        hits = bot.retriever.search([question], 5).hits
        assert file_part in hits[0].chunk.file, (question, hits[0].chunk.file)


@pytest.mark.parametrize(
    "question",
    [
        "How do I bake sourdough bread at home?",
        "Which python web framework should I learn?",
        "What time does the football match start tonight?",
        "Translate 'good morning' into Spanish",
    ],
)
def test_unrelated_questions_find_nothing_relevant(bot, question: str) -> None:
    assert not bot.retriever.search([question], 5).relevant


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("how long should I hold it?", True),
        ("and if I cycle?", True),
        ("what about after?", True),
        ("why would that happen?", True),
        ("How should I adjust my car seat to stop hip pain on long drives?", False),
        ("Which muscles make up the iliopsoas and what do they do?", False),
    ],
)
def test_followup_detection(message: str, expected: bool) -> None:
    assert is_followup(message) is expected


def test_followup_is_resolved_with_the_earlier_user_turn() -> None:
    history = [
        Turn(role="user", content="Which stretches help tight hips from cycling?"),
        Turn(role="assistant", content="Stretch often."),
    ]
    assert resolve_query("how often?", history) == "Which stretches help tight hips from cycling? how often?"
    assert resolve_query("how often?", []) == "how often?"
    standalone = "What are the best sitting positions for sciatica at a desk?"
    assert resolve_query(standalone, history) == standalone


def test_a_followup_to_a_long_story_is_also_searched_with_the_story_end() -> None:
    story = (
        "I started a warehouse job in March, lifting boxes most of the day, and at first it was fine. "
        "Then my lower back began to ache by the afternoon, and by the summer I was stiff every morning. "
        "My partner thinks it's the mattress, my boss says it's my posture, and I have tried heat packs. "
        "What really bothers me now is the pain down the back of my leg when I sit in the van."
    )
    assert len(story.split()) > LONG_TURN_WORDS
    history = [Turn(role="user", content=story), Turn(role="assistant", content="…")]
    joined, tail, alone = search_texts("and what helps?", history)
    assert joined == f"{story} and what helps?" and alone == "and what helps?"
    assert "the pain down the back of my leg" in tail and "warehouse" not in tail
    short = [
        Turn(role="user", content="Which stretches help tight hips?"),
        Turn(role="assistant", content="…"),
    ]
    assert search_texts("and what helps?", short) == [
        "Which stretches help tight hips? and what helps?",
        "and what helps?",
    ]


def test_followup_changes_what_is_found(bot) -> None:
    history = [
        Turn(role="user", content="I get sciatica from sitting all day at work, what helps?"),
        Turn(role="assistant", content="…"),
    ]
    alone = bot.reply("how often should I get up?")
    with_history = bot.reply("how often should I get up?", history)
    assert with_history.passages
    assert "sciatica" in with_history.passages[0].source
    assert [p.source for p in alone.passages] != [p.source for p in with_history.passages]


def test_fusion_is_absolute_and_ordered() -> None:
    import numpy as np

    assert saturate(np.array([0.0]))[0] == 0.0
    assert 0.49 < saturate(np.array([6.0]))[0] < 0.51
    fused = fuse(np.array([0.5, 0.2]), np.array([0.0, 30.0]), 0.8)
    assert fused[0] == pytest.approx(0.4)
    assert top_indices(np.array([0.1, 0.9, 0.5]), 2) == [1, 2]
    assert top_indices(np.array([]), 3) == []


def test_sentences_holding_a_visitor_questions_phrase_are_marked_for_it(bot) -> None:
    from hipbot.question_bank import ASKED_FLOOR, asked_here
    from hipbot.text import normalize

    index = bot.index
    i, entry = next((i, e) for i, e in enumerate(index.bank) if e.phrase)
    places = [place for place, asked in index.phrase_sentences.items() if i in asked]
    assert places
    chunk_id, order = places[0]
    assert normalize(entry.phrase).lower()[:20] in normalize(index.chunks[chunk_id].sentences[order]).lower()
    chunk = index.chunks[chunk_id]
    similarity = np.zeros(len(index.bank), dtype=np.float32)
    similarity[i] = 1.0
    row = asked_here(similarity, [chunk], index.phrase_sentences)[0]
    assert row[order] == 1.0
    assert all(row[o] == 0.0 for o in range(len(chunk.sentences)) if (chunk_id, o) not in places)
    similarity[i] = ASKED_FLOOR - 0.01  # no closer than an unrelated question: no signal
    assert not asked_here(similarity, [chunk], index.phrase_sentences)[0].any()


def test_a_visitor_question_votes_for_the_passages_that_answer_it(bot) -> None:
    from hipbot.retrieval import VOTE_FLOOR

    index = bot.index
    i, entry = next((i, e) for i, e in enumerate(index.bank) if e.phrase)
    vote = bot.retriever.votes(index.bank_vectors[i])
    assert np.allclose(vote[list(entry.targets)], 1.0)
    # A passage no visitor question near this one belongs to gets no vote.
    near = index.bank_vectors @ index.bank_vectors[i] > VOTE_FLOOR
    voted = {t for e, close in zip(index.bank, near, strict=True) if close for t in e.targets}
    assert not vote[[c for c in range(len(index.chunks)) if c not in voted]].any()
    # Left out (as when fitting), the question and its near-copies no longer vote.
    leave_out = index.bank_vectors @ index.bank_vectors[i] >= 0.9
    assert bot.retriever.votes(index.bank_vectors[i], leave_out)[list(entry.targets)].max() < 1.0
    found = bot.retriever.candidates([entry.question], index.bank_vectors[i : i + 1])
    assert found.vote[found.ids.index(entry.targets[0])] == pytest.approx(1.0)
