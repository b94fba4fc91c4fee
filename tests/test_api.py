import re

import pytest

CONTRACT_KEYS = {"answer", "passages", "safety", "in_scope", "coverage", "disclaimer", "suggestions"}
PASSAGE_KEYS = {"n", "title", "section", "text", "source", "score"}


def ask(client, message, history=None):
    body = {"message": message} if history is None else {"message": message, "history": history}
    return client.post("/api/chat", json=body)


def test_chat_reply_follows_the_contract(client) -> None:
    response = ask(client, "What can I do about tight hip flexors after a long bike ride?")
    assert response.status_code == 200
    reply = response.json()
    assert set(reply) >= CONTRACT_KEYS
    assert reply["in_scope"] is True
    assert reply["safety"] == {"level": "none", "category": None, "message": None}
    assert 1 <= len(reply["passages"]) <= 5
    for n, passage in enumerate(reply["passages"], start=1):
        assert set(passage) >= PASSAGE_KEYS
        assert passage["n"] == n
        assert passage["source"].startswith("corpus/") and "#" in passage["source"]
        assert isinstance(passage["score"], float)
    cited = [int(n) for n in re.findall(r"\[(\d+)\]", reply["answer"])]
    assert cited and all(1 <= n <= len(reply["passages"]) for n in cited)
    for sentence, n in re.findall(r"(.+?) \[(\d+)\]\s*", reply["answer"]):
        assert sentence in reply["passages"][int(n) - 1]["text"]
    assert "not medical advice" in reply["disclaimer"]
    assert len(reply["suggestions"]) <= 3


def test_answer_quotes_sentences_from_its_passages(client) -> None:
    reply = ask(client, "Why can sitting for a long time cause sciatica?").json()
    texts = " ".join(p["text"] for p in reply["passages"])
    for sentence in re.split(r" \[\d\]\s*", reply["answer"]):
        if sentence:
            assert sentence in texts


def test_what_can_i_do_is_answered_with_what_to_do(client) -> None:
    reply = ask(client, "What can I do about tight hip flexors after a long bike ride?").json()
    assert "stretch" in reply["answer"].lower()


def test_unrelated_question_is_out_of_scope(client) -> None:
    reply = ask(client, "What is a good recipe for lasagna?").json()
    assert reply["in_scope"] is False
    assert reply["passages"] == []
    assert "hip" in reply["answer"]
    assert reply["disclaimer"]


def test_history_is_used_for_followups(client) -> None:
    history = [
        {"role": "user", "content": "Is yoga a good idea for tight hip flexors?"},
        {"role": "assistant", "content": "It can help."},
    ]
    reply = ask(client, "and what if my hips hurt after class?", history).json()
    assert reply["in_scope"] is True
    assert any("yoga" in p["source"] for p in reply["passages"])


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"message": ""}, "message", "empty"),
        ({"message": "   \n\t"}, "message", "empty"),
        ({"message": "x" * 2001}, "message", "2000"),
        (
            {"message": "hi", "history": [{"role": "system", "content": "x"}]},
            "history.0.role",
            "'user' or 'assistant'",
        ),
        ({"message": "hi", "history": [{"role": "user", "content": "x"}] * 21}, "history", "20"),
        ({}, "message", "required"),
        ({"message": 5}, "message", "string"),
    ],
)
def test_bad_input_gets_422_with_a_clear_message(client, body, field, words) -> None:
    response = client.post("/api/chat", json=body)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert words.lower() in error["message"].lower()
    assert any(d["field"] == field for d in error["details"])


def test_malformed_json_and_unknown_paths_share_the_error_shape(client) -> None:
    bad = client.post("/api/chat", content=b"{not json", headers={"Content-Type": "application/json"})
    assert bad.status_code == 422
    assert set(bad.json()["error"]) == {"code", "message", "details"}
    missing = client.get("/nowhere")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"


def test_message_of_exactly_the_limit_is_accepted(client) -> None:
    assert ask(client, "hip " * 500).status_code == 200


def test_health_and_docs(client) -> None:
    health = client.get("/health")
    assert health.status_code == 200
    body = health.json()
    assert body["status"] == "ok"
    assert body["index"]["chunks"] > 100
    assert body["index"]["model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert client.get("/docs").status_code == 200
    assert "/api/chat" in client.get("/openapi.json").json()["paths"]
