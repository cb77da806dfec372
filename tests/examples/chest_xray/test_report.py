"""Step 7 (examples/chest_xray/report.py): the page a clinician reads, from a fake run and a real one.

The fake run needs no data: random films, an untrained model for Grad-CAM and the stress
test, and probabilities drawn to look like a useful model's. It goes through the example's
own steps 5 to 7 (``evaluation.evaluate``, ``pictures.explain``, ``evaluation.report``).
The browser checks render the page in headless Chromium (skipped without it).
"""

import contextlib
import csv
import html
import io
import json
import os
import re
import shutil
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from chest_xray import evaluation, models, options, pictures
from chest_xray import report as page
from minicnn import metrics, plots
from minicnn.data import array_dataset

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import report_screenshot as chromium  # noqa: E402

NAMES = ["NORMAL", "PNEUMONIA"]
SIZE = 40  # the smallest size the default batchnorm model takes is about 38 px
# What would give a Python repr away in the visible text.
REPRS = re.compile(r"\{'|\['|\bFalse\b|\bNone\b|\[\.\.\.\]|\bnan\b|<built-in|object at 0x")


def _dataset(rng, n_normal, n_pneumonia, name):
    y = np.array([0] * n_normal + [1] * n_pneumonia)
    films = rng.integers(0, 256, (len(y), SIZE, SIZE, 1)).astype(np.uint8)
    return array_dataset(films, y, batch_size=16, shuffle=False, class_names=NAMES,
                         file_paths=[f"{name}/{NAMES[c]}/film{i}.jpeg" for i, c in enumerate(y)])


def _split_csv(folder, test_ds):
    with open(os.path.join(folder, "split.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["file", "patient", "label", "split"])
        w.writerows([p, f"person{i}", NAMES[c], "test"]
                    for i, (p, c) in enumerate(zip(test_ds.file_paths, test_ds.labels)))


def make_fake_run(out, argv=(), seed=0):
    """A run folder made by the example's steps 5-7 on random films; returns (results, stdout)."""
    rng = np.random.default_rng(seed)
    # A --data folder (never read here): without one the example would take the demo's recipe.
    _, args = options.parse(["--data", "chest_xray", "--epochs", "2", "--image-size", str(SIZE),
                             "--bootstrap", "50", "--out", str(out), *argv])
    prepared = SimpleNamespace(
        class_names=NAMES, train=_dataset(rng, 20, 40, "train"), val=_dataset(rng, 12, 20, "val"),
        test=_dataset(rng, 18, 30, "test"), official_val=None,
        summary={"source": "fake (Kaggle folder layout)",
                 "images used": {"train": {"NORMAL": 20, "PNEUMONIA": 40},
                                 "val (from train/)": {"NORMAL": 12, "PNEUMONIA": 20},
                                 "test": {"NORMAL": 18, "PNEUMONIA": 30}},
                 "patients used": {"train": 41, "val (from train/)": 22, "test": 39},
                 "duplicates": {"byte-identical sets": 1, "files in them": 2,
                                "copies removed from train/": 1}},
        notes=["Validation: carved out of train/ by patient."])
    os.makedirs(out, exist_ok=True)
    model = models.build("baseline", (SIZE, SIZE, 1), 0, 1e-3)
    for layer in model.layers:   # positive dense weights: every feature counts for pneumonia,
        if "W" in layer.params and layer.params["W"].ndim == 2:    # so no Grad-CAM map is empty
            layer.params["W"][...] = np.abs(layer.params["W"])

    def scores(ds):   # a useful model's probabilities: pneumonia scores higher, with overlap
        y = np.asarray(ds.labels)
        return evaluation.Scores(y, np.clip(0.3 * y + 0.7 * rng.random(len(y)), 0, 1))

    val, test = scores(prepared.val), scores(prepared.test)
    threshold = evaluation.choose_threshold(val, args.target_sensitivity, args.threshold)
    history = SimpleNamespace(epoch=[0, 1], best_epoch=1, interrupted=False,
                              history={"loss": [0.7, 0.5], "val_loss": [0.68, 0.55],
                                       "auc": [0.6, 0.8], "val_auc": [0.58, 0.75]})
    results = evaluation.evaluate(model, prepared, args, threshold, val, test, history, 12.3,
                                  {0: 1.5, 1: 0.75})
    evaluation.write_metrics(results, out)
    figures = {"Training curves": plots.training_curves(history.history,
                                                        os.path.join(out, "curves.png"))}
    figures.update(pictures.explain(model, prepared, test, threshold, results, args, str(out),
                                    np.random.default_rng(1)))
    _split_csv(out, prepared.test)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        evaluation.report(str(out), args, prepared, results, figures, threshold, history, 12.3)
    return results, printed.getvalue()


@pytest.fixture(scope="module")
def fake_run(tmp_path_factory):
    """This run, and the "original recipe" run in a sub-folder of it (found without --compare)."""
    out = tmp_path_factory.mktemp("fake") / "run"
    os.makedirs(out / "original")
    make_fake_run(out / "original", ["--recipe", "original"], seed=5)
    results, printed = make_fake_run(out)
    return out, results, printed


def test_headline_counts_and_words_agree_with_the_confusion_matrix(fake_run):
    _, results, _ = fake_run
    h = json.loads(json.dumps(results["headline"]))
    assert h == json.load(open(fake_run[0] / "metrics.json"))["headline"]   # stored as shown
    (tn, fp), (fn, tp) = results["test"]["confusion_matrix"]
    assert (h["found"], h["misses"], h["false_alarms"], h["cleared"]) == (tp, fn, fp, tn)
    assert h["n_pneumonia"] == tp + fn == 30 and h["n_normal"] == tn + fp == 18
    # At the test prevalence the formulas give back the test set's own PPV and NPV.
    assert h["ppv"] == pytest.approx(tp / (tp + fp)) and h["npv"] == pytest.approx(tn / (tn + fn))
    assert h["misses_per_100"] == round(100 * fn / (tp + fn))
    assert h["false_alarms_per_100"] == round(100 * fp / (tn + fp))
    assert f"misses {fn} (about {h['misses_per_100']} of 100" in h["text"]
    assert f"{fp} false alarms among {tn + fp} normal films" in h["text"]
    assert f"Sensitivity {100 * h['sensitivity']:.1f}% (95% interval" in h["text"]


def test_predictive_values_follow_bayes():
    assert page.predictive_values(0.9, 0.8, 0.5) == pytest.approx((0.9 / 1.1, 0.8 / 0.9))
    ppv, npv = page.predictive_values(0.95, 0.75, 0.01)
    assert ppv == pytest.approx(0.0095 / (0.0095 + 0.2475)) and npv > 0.999
    assert page.predictive_values(1.0, 0.0, 0.0)[0] == 0.0


def test_console_prints_the_headline(fake_run):
    _, results, printed = fake_run
    assert results["headline"]["text"] in printed
    assert "edges masked" in printed                    # the stress test's lines, all five


def test_lung_box_share_is_measured_on_every_test_film(fake_run):
    _, results, _ = fake_run
    g = results["gradcam"]
    assert g["n"] + g["n_empty_maps"] == 48
    assert 0.0 <= g["mean"] <= 1.0 and g["box_area"] == pytest.approx(0.7 * 0.7)
    assert set(g["mean_by_outcome"]) <= {"TP", "FP", "FN", "TN"}
    assert sum(len(v) for v in g["examples"].values()) <= 4 * pictures.PER_OUTCOME
    assert results["headline"]["lung_box_share"] == g["mean"]


def test_page_reads_as_words_and_tables(fake_run):
    out, results, _ = fake_run
    text = (out / "report.html").read_text(encoding="utf-8")
    h = results["headline"]
    assert "http://" not in text and "https://" not in text and "<link" not in text
    assert f"misses about {h['misses_per_100']}</strong>" in text
    assert f"{h['false_alarms']} false alarms among {h['n_normal']} normal films" in text
    assert f"{h['misses']} false negatives (pneumonia missed)" in text      # the confusion matrix
    # The original recipe's run from the sub-folder, on the same films (split.csv checked).
    assert 'id="compare"' in text and "compared: original" in text
    assert "<strong>the same</strong> test films (48 films, checked file by file" in text
    # The stress table: every distortion, each cell with its change from unstressed.
    for row in results["val_stress"].values():
        assert html.escape(row["what"]) in text
    assert len(re.findall(r"<td>\d\.\d{3} \([+\u2212]\d\.\d{3}\)</td>", text)) == 3 * 5
    # Every picture of a film is marked, so that a screenshot can hide it; the plots are not.
    srcs = re.findall(r"<img([^>]*)>", text)
    films = [s for s in srcs if 'class="film"' in s]
    assert len(films) == len([t for t in results["figures"] if t.startswith(page.FILM_FIGURES)])
    assert any("Grad-CAM: " in s for s in films) and any("Test predictions" in s for s in films)
    hidden = page_hidden = chromium.hide_images(text)
    assert 'class="film"' not in hidden and "data:image/gif" in page_hidden
    assert len(re.findall(r'src="data:image/png', hidden)) == len(srcs) - len(films)
    # Settings in words: booleans as yes/no, unset values said so.
    assert "<th scope=\"row\">class weights n / (2 n_class)</th><td>yes</td>" in text
    assert "not set" in text and "python examples/pneumonia.py --recipe default" in text


def test_a_run_without_a_comparison_and_a_missing_compare_folder(fake_run, tmp_path):
    out, _, _ = fake_run
    alone = page.build(str(out / "original"))
    assert 'id="compare"' not in alone and 'id="headline"' in alone
    with pytest.raises(FileNotFoundError, match="no_such_run.*metrics.json"):
        page.build(str(out), compare=str(tmp_path / "no_such_run"))


PROBE = """<script>
(function () {
  var out = {viewport: [window.innerWidth, window.innerHeight], visible: document.body.innerText};
  ["headline", "sensitivity", "specificity", "misses", "false-alarms", "predictive", "auc",
   "lungs", "model", "facts", "caveats", "compare", "details"].forEach(function (id) {
    var e = document.getElementById(id);
    if (!e) { out[id] = null; return; }
    var r = e.getBoundingClientRect();
    out[id] = {top: r.top, bottom: r.bottom, left: r.left, right: r.right, text: e.innerText};
  });
  var box = document.getElementById('prevalence');
  out.ppv_at_default = document.getElementById('ppv-at').textContent;
  box.value = '50'; box.dispatchEvent(new Event('input'));
  out.ppv_at_50 = document.getElementById('ppv-at').textContent;
  out.npv_at_50 = document.getElementById('npv-at').textContent;
  var pre = document.createElement('pre'); pre.id = 'probe';
  pre.textContent = JSON.stringify(out); document.body.appendChild(pre);
})();
</script></body>"""


def probe(report_html, size=(1280, 800)):
    """Positions (in a ``size`` window) and texts of the page's parts, and its visible text."""
    dom = chromium.dump_dom(report_html.replace("</body>", PROBE), size)
    found = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)
    assert found, dom[-2000:]
    return json.loads(html.unescape(found.group(1)))


def check_first_screen(report_path, headline):
    """The headline is on the first 1280x800 screen, in words; no Python repr anywhere visible."""
    seen = probe(open(report_path, encoding="utf-8").read())
    # The layout's width is the window's; positions are from the page's top (no scrolling), so
    # "on the first screen" is bottom <= 800, the height of the screenshot of that window
    # (headless Chromium's --dump-dom keeps some of the window's height for its frame).
    assert seen["viewport"][0] == 1280
    for part in ("headline", "sensitivity", "specificity", "misses", "false-alarms",
                 "predictive", "auc", "model"):
        box = seen[part]
        assert box is not None, part
        assert 0 <= box["top"] < box["bottom"] <= 800 and box["right"] <= 1280, (part, box)
    assert seen["facts"]["top"] < 800                   # data and operating point start there too
    assert seen["details"]["top"] > 800                 # details last
    assert f"misses about {headline['misses_per_100']}" in seen["misses"]["text"]
    assert f"{headline['false_alarms_per_100']} are recalled for a false alarm" \
        in seen["false-alarms"]["text"]
    assert f"{100 * headline['sensitivity']:.1f}%" in seen["sensitivity"]["text"]
    assert f"{100 * headline['specificity']:.1f}%" in seen["specificity"]["text"]
    bad = REPRS.findall(seen["visible"])
    assert not bad, (bad, [seen["visible"][max(0, m.start() - 60):m.end() + 60]
                           for m in REPRS.finditer(seen["visible"])][:3])
    # The inline script: the reader's prevalence gives Bayes' PPV and NPV.
    ppv, npv = page.predictive_values(headline["sensitivity"], headline["specificity"], 0.5)
    assert seen["ppv_at_default"] == f"{100 * page.predictive_values(headline['sensitivity'], headline['specificity'], 0.1)[0]:.1f}%"
    assert (seen["ppv_at_50"], seen["npv_at_50"]) == (f"{100 * ppv:.1f}%", f"{100 * npv:.1f}%")
    return seen


needs_chromium = pytest.mark.skipif(chromium.find_browser() is None,
                                    reason="chromium is not installed (apt-get install chromium)")


@needs_chromium
def test_first_screen_in_chromium(fake_run, tmp_path):
    out, results, _ = fake_run
    seen = check_first_screen(out / "report.html", results["headline"])
    assert seen["compare"]["top"] > 0
    shot = chromium.screenshot(out / "report.html", tmp_path / "first_screen.png")
    with Image.open(shot) as im:
        assert im.size == (1280, 800)
        pixels = np.asarray(im.convert("L"), dtype=np.float64)
    assert pixels.std() > 10 and (pixels < 128).mean() > 0.005     # text on a page, not blank


@needs_chromium
def test_screenshot_tool_blanks_the_films(fake_run, tmp_path):
    """The whole page rendered with films hidden differs from it with films shown, only there."""
    out, _, _ = fake_run
    tall = (1280, 6000)
    hidden = np.asarray(Image.open(chromium.screenshot(out / "report.html", tmp_path / "h.png",
                                                       tall)).convert("L"), dtype=np.int16)
    shown = np.asarray(Image.open(chromium.screenshot(out / "report.html", tmp_path / "s.png",
                                                      tall, hide=None)).convert("L"), dtype=np.int16)
    assert hidden.shape == shown.shape and (hidden != shown).any()
    # The command-line tool writes the same first screen.
    done = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "report_screenshot.py"),
                           str(out / "report.html"), str(tmp_path / "cli.png")],
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    assert Image.open(tmp_path / "cli.png").size == (1280, 800)


DATA = os.environ.get("MINICNN_DATA")


@needs_chromium
@pytest.mark.skipif(not DATA or not os.path.isdir(DATA or ""),
                    reason="MINICNN_DATA (the chest_xray folder) is not set")
def test_first_screen_of_a_real_short_run(tmp_path):
    env = dict(os.environ, MINICNN_HOME=str(tmp_path / "home"), MPLBACKEND="Agg",
               PYTHONPATH=os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH")) if p))
    done = subprocess.run([sys.executable, os.path.join(ROOT, "examples", "pneumonia.py"),
                           "--data", DATA, "--limit", "40", "--epochs", "1", "--image-size", "40",
                           "--bootstrap", "50", "--out", "run"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    m = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert m["headline"]["text"] in done.stdout
    seen = check_first_screen(tmp_path / "run" / "report.html", m["headline"])
    assert "--limit 40" in seen["caveats"]["text"]        # a quick look says so first


def test_a_wrong_compare_folder_warns_and_still_writes_the_page(fake_run, tmp_path, capsys):
    out, results, _ = fake_run
    out = shutil.copytree(out, tmp_path / "copy")           # the shared run stays as it was
    args = SimpleNamespace(**dict(results["settings"], compare=str(tmp_path / "nowhere")))
    prepared = SimpleNamespace(notes=results["notes"], summary=results["data"])
    history = SimpleNamespace(interrupted=False, epoch=[0, 1])
    figures = {t: str(out / f) for t, f in results["figures"].items()}
    (out / "report.html").unlink()
    evaluation.report(str(out), args, prepared, dict(results), figures,
                      results["test"]["threshold"], history, 12.3)
    err = capsys.readouterr().err
    assert "--compare" in err and "nowhere" in err and "metrics.json" in err
    text = (out / "report.html").read_text(encoding="utf-8")
    assert 'id="headline"' in text and 'id="compare"' not in text
