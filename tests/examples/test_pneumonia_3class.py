"""``python examples/pneumonia.py --task 3class`` on the embedded set, run as a user would.

One short run (1 epoch at 28 px, few bootstrap resamples) writes every output; the tests read
them: metrics.json holds the per-class figures, and they are what ``minicnn.metrics`` gives on
the saved predictions (predictions.csv), recomputed here; the report reads as words; predict
prints the class and the three probabilities, and refuses a model whose metadata lies.
"""

import csv
import html
import json
import os
import re
import sys

import numpy as np
import pytest

from minicnn import metrics
from test_pneumonia_demo import HAS_ONNX, ONNX_NOTE, run_offline, write_test_images
from test_pneumonia_example import ROOT, run

NAMES = ["NORMAL", "BACTERIA", "VIRUS"]
ARGS = ["--task", "3class", "--data", "embedded", "--epochs", "1", "--bootstrap", "50",
        "--out", "run"]


@pytest.fixture(scope="module")
def three(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("three")
    return tmp_path, run_offline(ARGS, tmp_path)


def _predictions(out, split):
    with open(out / "predictions.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["split"] == split]
    y = np.array([NAMES.index(r["label"]) for r in rows])
    p = np.array([[float(r[f"p_{n}"]) for n in NAMES] for r in rows])
    return rows, y, p


def test_the_run_writes_every_output_and_the_console_says_the_figures(three):
    tmp_path, result = three
    out = tmp_path / "run"
    for name in ("model.npz", "metrics.json", "predictions.csv", "history.csv", "split.csv",
                 "report.html", "curves.png", "confusion.png", "roc.png", "calibration.png", "samples.png",
                 "augmentation.png") + (("model.onnx",) if HAS_ONNX else ()):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    if not HAS_ONNX:
        assert not (out / "model.onnx").exists() and ONNX_NOTE in result.stdout + result.stderr
    assert len(list(out.glob("gradcam_*.png"))) >= 1
    assert not [p for p in os.listdir(out) if p.startswith(".")]
    text = result.stdout
    assert "class weights (n / (3 n_c)): NORMAL" in text
    assert "confusion matrix (rows: the truth; columns: the call):" in text
    assert "of 100 children with viral pneumonia it calls about" in text
    assert "Pneumonia vs normal (P(BACTERIA) + P(VIRUS)): AUC" in text
    assert "Bacterial vs viral, among the 390 pneumonia films" in text and "90.7%" in text
    assert "threshold" not in text.split("Test (624 films)")[1].lower()


def test_metrics_json_holds_the_per_class_figures_recomputed_from_the_predictions(three):
    tmp_path, _ = three
    out = tmp_path / "run"
    m = json.loads((out / "metrics.json").read_text())
    assert m["task"] == "3class" and m["class_names"] == NAMES and m["decision"] == "argmax"
    assert m["n_test"] == 624 and m["test"]["n"] == 624
    for split in ("test", "val"):
        rows, y, p = _predictions(out, split)
        assert len(rows) == m[split]["n"]
        np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-6)
        called = p.argmax(axis=1)
        assert [r["called"] for r in rows] == [NAMES[c] for c in called]
        s = m[split]
        assert s["confusion_matrix"] == metrics.multiclass_confusion_matrix(y, called, 3).tolist()
        assert s["accuracy"] == pytest.approx(metrics.multiclass_accuracy(y, called, 3))
        assert s["macro_f1"] == pytest.approx(metrics.macro_f1(y, called, 3))
        assert s["weighted_f1"] == pytest.approx(metrics.weighted_f1(y, called, 3))
        assert s["macro_auc"] == pytest.approx(metrics.macro_roc_auc(y, p), abs=1e-6)
        aucs = metrics.one_vs_rest_roc_auc(y, p)
        for c, name in enumerate(NAMES):
            r = s["per_class"][name]
            assert r["sensitivity"] == pytest.approx(metrics.per_class_sensitivity(y, called, 3)[c])
            assert r["specificity"] == pytest.approx(metrics.per_class_specificity(y, called, 3)[c])
            assert r["precision"] == pytest.approx(metrics.per_class_precision(y, called, 3)[c])
            assert r["f1"] == pytest.approx(metrics.per_class_f1(y, called, 3)[c])
            assert r["auc"] == pytest.approx(aucs[c], abs=1e-6)
            lo, hi = r["sensitivity_ci"]
            assert 0 <= lo <= hi <= 1
        sick = (y != 0).astype(int)
        pn = s["pneumonia_vs_normal"]
        assert pn["auc"] == pytest.approx(metrics.roc_auc(sick, 1 - p[:, 0]), abs=1e-6)
        assert pn["sensitivity"] == pytest.approx(metrics.recall(sick, (called != 0).astype(int)))
        assert pn["specificity"] == pytest.approx(
            metrics.specificity(sick, (called != 0).astype(int)))
        among = y != 0
        assert s["bacterial_vs_viral"]["accuracy"] == pytest.approx(
            np.mean((y[among] == 2) == (p[among, 2] > p[among, 1])))
    assert m["test"]["macro_auc"] > 0.7                 # one epoch at 28 px already separates
    # The official val/ has no viral film: its figures say so (None), nothing is invented.
    assert m["official_val"]["per_class"]["VIRUS"]["n"] == 0
    assert m["official_val"]["macro_auc"] is None
    assert m["headline"]["classes"][2]["class"] == "VIRUS"
    assert m["best_epoch"] == 1 and "macro" in m["best_epoch_rule"]


REPRS = re.compile(r"\{'|\['|\bFalse\b|\bNone\b|\bnan\b|<built-in|object at 0x")


def test_the_report_reads_as_words(three):
    tmp_path, _ = three
    page = (tmp_path / "run" / "report.html").read_text(encoding="utf-8")
    visible = html.unescape(re.sub(r"<[^>]+>", " ", re.sub(r"(?s)<(style|script)>.*?</\1>", "",
                                                             page)))
    visible = re.sub(r"data:image/[^\s\"]+", "", visible)
    assert not REPRS.findall(visible), [visible[max(0, m.start() - 60):m.end() + 60]
                                        for m in REPRS.finditer(visible)][:3]
    m = json.loads((tmp_path / "run" / "metrics.json").read_text())
    for row in m["headline"]["classes"]:
        assert f"({row['found']} of {row['n']}" in page
        assert f"({row['wrongly_called']} of {row['n_others']})" in page
    for part in ('id="headline"', 'id="meaning"', 'id="gradcam"', 'id="stress"', 'id="details"',
                 "Bacterial vs viral", "Pneumonia vs normal", "One-vs-rest ROC curves (test)",
                 "Grad-CAM: called", "class weights n / (3 n_class)"):
        assert part in page, part
    assert "P(pneumonia) is at least" not in page                # no binary threshold anywhere


sys.path.insert(0, os.path.join(ROOT, "tools"))
import report_screenshot as chromium  # noqa: E402


@pytest.mark.skipif(chromium.find_browser() is None,
                    reason="chromium is not installed (apt-get install chromium)")
def test_the_per_class_headline_is_on_the_first_screen(three):
    tmp_path, _ = three
    probe = """<script>(function () { var out = {};
      ["headline", "class-normal", "class-bacteria", "class-virus", "accuracy", "macro-auc",
       "pneumonia-vs-normal", "bacterial-vs-viral", "model", "rule", "details"].forEach(
       function (id) { var r = document.getElementById(id).getBoundingClientRect();
                       out[id] = [r.top, r.bottom, r.right]; });
      out.visible = document.body.innerText;
      var pre = document.createElement('pre'); pre.id = 'probe';
      pre.textContent = JSON.stringify(out); document.body.appendChild(pre); })();</script></body>"""
    page = (tmp_path / "run" / "report.html").read_text(encoding="utf-8")
    dom = chromium.dump_dom(page.replace("</body>", probe), (1280, 800))
    seen = json.loads(html.unescape(re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S).group(1)))
    for part in ("headline", "class-normal", "class-bacteria", "class-virus", "accuracy",
                 "macro-auc", "pneumonia-vs-normal", "bacterial-vs-viral", "model", "rule"):
        top, bottom, right = seen[part]
        assert 0 <= top < bottom <= 800 and right <= 1280, (part, seen[part])
    assert seen["details"][0] > 800
    assert not REPRS.findall(seen["visible"])


def test_predict_prints_the_class_and_three_probabilities(three):
    from minicnn.data import PerImageStandardization
    from minicnn.model import Sequential

    tmp_path, _ = three
    model_file = tmp_path / "run" / "model.npz"
    paths, pixels = write_test_images(tmp_path / "films", 3)
    pred = run(["predict", *paths, "--model", str(model_file), "--out", "pred"], tmp_path,
               unset=("MINICNN_DATA",))
    assert pred.returncode == 0, pred.stderr[-3000:]
    lines = pred.stdout.strip().splitlines()
    assert len(lines) == 3 and len(list((tmp_path / "pred").glob("*_gradcam.png"))) == 3
    model = Sequential.load(str(model_file))
    assert model.metadata["task"] == "3class" and model.metadata["class_names"] == NAMES
    expected = model.predict(PerImageStandardization()(pixels[..., None].astype(np.float32)))
    for line, row in zip(lines, expected):
        shown = [float(v) for v in re.findall(r"P\((?:NORMAL|BACTERIA|VIRUS)\) = ([0-9.]+)", line)]
        np.testing.assert_allclose(shown, row, atol=5e-4)
        assert line.split(": ")[1].startswith(NAMES[int(np.argmax(row))] + " (")


def test_predict_refuses_a_model_whose_task_does_not_fit(three, tmp_path):
    from minicnn.model import Sequential

    src, _ = three
    model = Sequential.load(str(src / "run" / "model.npz"))
    paths, _ = write_test_images(tmp_path / "films", 1)
    for task, why in (("binary", "says task 'binary' but the model has 3 output"),
                      ("4class", "'task' must be one of")):
        model.metadata = dict(model.metadata, task=task)
        bad = tmp_path / f"{task}.npz"
        model.save(str(bad), metadata=model.metadata)
        result = run(["predict", paths[0], "--model", str(bad)], tmp_path, unset=("MINICNN_DATA",))
        assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr[-2000:]
        assert why in result.stderr


def test_cv_takes_the_task_and_scores_each_fold_by_macro_auc(tmp_path):
    result = run_offline(["cv", "--task", "3class", "--data", "embedded", "--folds", "2",
                          "--epochs", "1", "--limit", "200", "--out", "cv"], tmp_path, timeout=600)
    cv = json.loads((tmp_path / "cv" / "metrics.json").read_text())["cv"]
    assert cv["task"] == "3class" and cv["val_auc_means"] == "macro one-vs-rest AUC"
    assert len(cv["val_auc"]) == 2 and all(0 <= a <= 1 for a in cv["val_auc"])
    assert "Validation macro one-vs-rest AUC over 2 folds" in result.stdout


def test_the_report_sets_pneumonia_or_not_beside_a_binary_run(three):
    """--compare <binary run>: the question both answer, each column from its own metrics.json."""
    from chest_xray import report, report_multiclass

    tmp_path, _ = three
    run_offline(["--data", "embedded", "--epochs", "1", "--bootstrap", "50", "--out", "binary"],
                tmp_path)
    page = report_multiclass.build(str(tmp_path / "run"), compare=str(tmp_path / "binary"))
    assert 'id="compare"' in page and "this run beside a binary run" in page
    assert "the same</strong> test films (624 films" in page
    mine = json.loads((tmp_path / "run" / "metrics.json").read_text())["test"]
    theirs = json.loads((tmp_path / "binary" / "metrics.json").read_text())["test"]
    assert f"{mine['pneumonia_vs_normal']['auc']:.3f}" in page and f"{theirs['auc']:.3f}" in page
    assert f"at least {theirs['threshold']:.3f}" in page
    cm = mine["confusion_matrix"]
    assert f"{cm[1][0] + cm[2][0]} of {mine['pneumonia_vs_normal']['n_pneumonia']}" in page
    assert f"{theirs['confusion_matrix'][1][0]} of 390" in page
    # The other way round is refused with what to do (the binary page has no 3-class columns).
    with pytest.raises(ValueError, match="3-class run.*--task 3class --compare"):
        report.find_comparison(str(tmp_path / "binary"), compare=str(tmp_path / "run"))
