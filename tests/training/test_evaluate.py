from tests.training.conftest import make_ferplus
from tests.training.sets import make_set
from training import evaluate


def test_table_rates_every_valid_split_through_the_api_path(tmp_path, model_file, astronaut,
                                                             capsys):
    ferplus = make_ferplus(tmp_path / "ferplus", per_split=12)
    head = astronaut.crop((120, 0, 420, 330)).resize((180, 198))
    make_set(tmp_path, "taiwanese", {"valid": ["Anger", "Fear", "Neutral"]}, head=head)
    make_set(tmp_path, "expw", {"valid": ["Disgust", "Fear", "Happiness", "Anger"]})
    make_set(tmp_path, "sfew", {"valid": ["Surprise", "Sadness"]})
    make_set(tmp_path, "affectnet_contempt", {"valid": ["Contempt"] * 3})
    args = evaluate.get_args_parser().parse_args([
        "--model", str(model_file), "--data", str(ferplus), "--sets-root", str(tmp_path),
        "--cache-dir", str(tmp_path / "cache"), "--table", "--json", str(tmp_path / "t.json")])
    rows = {r["set"]: r for r in evaluate.main(args)["valid"]}
    assert list(rows) == ["ferplus", "taiwanese", "expw", "sfew", "affectnet_contempt"]
    assert rows["taiwanese"]["n"] == 3 and rows["taiwanese"]["no_face"] == 0
    assert set(rows["sfew"]["recall"]) == {"Surprise", "Sadness"}
    assert set(rows["affectnet_contempt"]["recall"]) == {"Contempt"}
    for r in rows.values():
        assert 0 <= r["uar"] <= 1 and 0 <= r["false_contempt"] <= 1
    out = capsys.readouterr().out
    assert "taiwanese/valid" in out and "UAR" in out and (tmp_path / "t.json").is_file()


def test_one_set_prints_uar_recall_and_confusion(tmp_path, model_file, capsys):
    make_set(tmp_path, "expw", {"valid": ["Disgust", "Fear", "Fear"]})
    args = evaluate.get_args_parser().parse_args([
        "--model", str(model_file), "--set", "expw", "--sets-root", str(tmp_path),
        "--latency-runs", "0"])
    result = evaluate.main(args)
    assert result["split"] == "valid" and result["n"] == 3
    assert set(result["recall"]) == {"Disgust", "Fear"}
    out = capsys.readouterr().out
    assert "UAR" in out and "other faces called Contempt" in out and "Disgust" in out
