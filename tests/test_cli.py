import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from hipbot.cli import main


@pytest.fixture()
def env(settings, bot) -> dict[str, str]:
    return {"HIPBOT_CORPUS_DIR": str(settings.corpus_dir), "HIPBOT_INDEX_DIR": str(settings.index_dir)}


def run(env, *args: str, input: str | None = None):
    return CliRunner().invoke(main, list(args), env=env, input=input, catch_exceptions=False)


def test_ask_prints_answer_sources_and_disclaimer(env) -> None:
    result = run(env, "ask", "How should I set up my car seat to avoid hip pain?")
    assert result.exit_code == 0
    assert "Answer" in result.output and "Sources" in result.output
    assert "[1]" in result.output
    assert "corpus/" in result.output
    assert "not medical advice" in result.output


def test_ask_json_prints_the_contract(env) -> None:
    result = run(env, "ask", "--json", "What does the iliacus do?")
    reply = json.loads(result.output)
    assert reply["in_scope"] is True
    assert reply["passages"][0]["n"] == 1


def test_ask_rejects_an_empty_question(env) -> None:
    result = run(env, "ask", "  ")
    assert result.exit_code == 2
    assert "empty" in result.output


def test_chat_keeps_the_conversation(env) -> None:
    result = run(
        env,
        "chat",
        input="Which stretches help sciatica from sitting?\nhow long should I hold each one?\nexit\n",
    )
    assert result.exit_code == 0
    assert result.output.count("Sources") == 2


def test_index_info_reports_status(env) -> None:
    result = run(env, "index", "info")
    assert result.exit_code == 0
    assert "up to date" in result.output
    assert "all-MiniLM-L6-v2" in result.output


def test_missing_corpus_is_a_clear_error(env, tmp_path: Path) -> None:
    result = run({**env, "HIPBOT_CORPUS_DIR": str(tmp_path / "none")}, "ask", "hips?")
    assert result.exit_code == 1
    assert "corpus folder not found" in result.output
    assert "Traceback" not in result.output


def test_eval_prints_retrieval_figures(env, tmp_path: Path) -> None:
    questions = tmp_path / "q.jsonl"
    questions.write_text(
        json.dumps(
            {
                "id": "t1",
                "kind": "retrieval",
                "question": "Which muscles are in the hip flexor group?",
                "gold": ["This muscle group includes the iliacus"],
            }
        )
        + "\n"
        + json.dumps({"id": "t2", "kind": "scope", "message": "weather?", "expect": "out_of_scope"})
        + "\n",
        encoding="utf-8",
    )
    result = run(env, "eval", "--json", str(questions))
    figures = json.loads(result.output)
    assert figures["questions"] == 1
    assert figures["hit@5"] == 1.0
    assert "words_per_passage" in figures


def test_a_broken_line_in_a_question_file_is_named(env, tmp_path: Path) -> None:
    questions = tmp_path / "q.jsonl"
    line = json.dumps({"id": "t1", "kind": "retrieval", "question": "hip?", "gold": ["hip"]})
    questions.write_text(f"{line}\n\n{{not json\n", encoding="utf-8")
    result = run(env, "eval", str(questions))
    assert result.exit_code == 1
    assert f"{questions}:3: not valid JSON" in result.output
    assert "Traceback" not in result.output


def test_serve_without_building_refuses_a_missing_index(env, tmp_path: Path) -> None:
    from hipbot.bench import free_port

    port = str(free_port())
    result = run({**env, "HIPBOT_INDEX_DIR": str(tmp_path / "empty")}, "serve", "--no-build", "--port", port)
    assert result.exit_code == 1
    assert "no index has been built" in result.output
    assert "hipbot index build" in result.output
