import json

import pytest

from training.runlog import main, read_log, table


def row(epoch: int, score: float) -> dict:
    v = {"n": 10, "accuracy": 0.5, "uar": score, "recall": {"Neutral": 0.5, "Anger": 0.25},
         "false_contempt": 0.02}
    return {"epoch": epoch, "which": "ema", "score": score - 0.1, "score_ema": score,
            "valid": {"ferplus": v, "taiwanese": {**v, "false_contempt": 0.04}}}


def test_a_resumed_epoch_counts_once_and_the_table_names_the_sets(tmp_path, capsys):
    log = [row(1, 0.4), row(2, 0.45), row(2, 0.5), row(3, 0.6)]
    (tmp_path / "log.jsonl").write_text("".join(json.dumps(r) + "\n" for r in log))
    rows = read_log(tmp_path)
    assert [r["epoch"] for r in rows] == [1, 2, 3] and rows[1]["score_ema"] == 0.5
    text = table(rows)
    assert "FER2013Valid acc / UAR" in text and "taiwanese acc / UAR" in text
    assert "| 2 | ema | 0.5000 | 50.0% / 50.0 | 50.0% / 50.0 | 4.0% |" in text
    main([str(tmp_path), "--recall"])
    out = capsys.readouterr().out
    assert "epoch 3 (ema weights)" in out and "Neu 50, Ang 25" in out


def test_a_folder_without_a_log_is_named(tmp_path):
    with pytest.raises(SystemExit, match="log.jsonl not found"):
        read_log(tmp_path)
