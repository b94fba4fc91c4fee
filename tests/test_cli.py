import json
import shutil
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


FALL = "my grandad fell in the kitchen and can't stand, his leg is turned outwards"


def test_triage_explains_a_decision(env) -> None:
    result = run(env, "triage", FALL, "--examples", "2")
    assert result.exit_code == 0
    assert "decision: urgent" in result.output
    assert "detectors: rules, learned" in result.output
    assert "nearest labelled examples" in result.output


def test_triage_file_prints_figures(env, tmp_path: Path) -> None:
    labelled = tmp_path / "labelled.jsonl"
    rows = [
        {"message": FALL, "expect": "urgent", "level": "emergency", "category": "hip_fracture"},
        {"message": "which stretch loosens tight hip flexors after cycling?", "expect": "none"},
    ]
    labelled.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    result = run(env, "triage", "--file", str(labelled))
    assert result.exit_code == 0, result.output
    assert "red_flag_recall 1.0" in result.output
    assert "false_alarms 0.0" in result.output


def test_triage_measures_a_model_given_by_folder(env, tmp_path: Path) -> None:
    from hipbot.triage.artifact import packaged_folder

    # a copy of the packaged model whose learned scores never reach a threshold: only the rules fire
    candidate = tmp_path / "candidate"
    shutil.copytree(packaged_folder(), candidate)
    meta = json.loads((candidate / "model.json").read_text(encoding="utf-8"))
    meta["thresholds"] = {"urgent": 1.01, "crisis": 1.01, "caution": 1.01}
    (candidate / "model.json").write_text(json.dumps(meta), encoding="utf-8")
    result = run(env, "triage", FALL, "--examples", "0", "--triage-model", str(candidate))
    assert result.exit_code == 0, result.output
    assert "detectors: rules\n" in result.output
    by_environment = run({**env, "HIPBOT_TRIAGE_MODEL": str(candidate)}, "triage", FALL, "--examples", "0")
    assert "detectors: rules\n" in by_environment.output


def test_a_missing_triage_model_is_a_clear_error(env, tmp_path: Path) -> None:
    result = run(env, "triage", FALL, "--triage-model", str(tmp_path / "nothing"))
    assert result.exit_code == 1
    assert "HIPBOT_TRIAGE_MODEL" in result.output and "hipbot triage train --output" in result.output
    assert "Traceback" not in result.output
