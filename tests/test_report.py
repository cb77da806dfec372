"""The HTML report: self-contained, escaped, every figure embedded, and it renders in a browser."""

import base64
import os
import re
import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image

from minicnn import metrics as M
from minicnn import plots as P
from minicnn.report import (HTML, environment, esc, figure, hide_images, page, render_report,
                            section, table, text, write_report)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A small but complete run's worth of inputs for the report."""
    out = tmp_path_factory.mktemp("run")
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 120)
    p = np.clip(0.3 * y + 0.7 * rng.random(120), 0, 1)
    t = M.choose_threshold(y, p, target_sensitivity=0.95)
    imgs = rng.integers(0, 256, (4, 24, 24, 1)).astype(np.uint8)
    figures = {
        "Sample images": P.sample_grid(imgs, y[:4], ["NORMAL", "PNEUMONIA"], out / "samples.png"),
        "Training curves": P.training_curves({"loss": [0.6, 0.4], "val_loss": [0.5, 0.45]}, out / "curves.png"),
        "ROC curve": P.roc_curve_plot(y, p, out / "roc.png", operating_points={"chosen": t, "0.5": 0.5}),
        "Confusion matrix": P.confusion_matrix_plot(y, (p >= t).astype(int), out / "cm.png"),
    }
    metrics = {"test": M.summarize(y, p, t, n_bootstrap=50), "test at 0.5": M.summarize(y, p, 0.5, n_bootstrap=50),
               "train_seconds": 12.5, "epochs": 2}
    settings = {"epochs": 2, "image_size": 24, "augment": True, "note": "<script>alert(1)</script> & co"}
    data = {"images": {"train": {"NORMAL": 100, "PNEUMONIA": 300}, "test": {"NORMAL": 20, "PNEUMONIA": 30}},
            "patients": {"train": {"NORMAL": 90, "PNEUMONIA": 120}},
            "duplicates removed": 3, "class weights": {"NORMAL": 2.0, "PNEUMONIA": 0.667}}
    path = write_report(out / "report" / "report.html", settings=settings, data_summary=data,
                        metrics=metrics, figures=figures, notes=["Trained on <b>fake</b> data."])
    return path, figures, metrics


def test_report_embeds_every_figure_and_links_nowhere(run):
    path, figures, _ = run
    text = open(path, encoding="utf-8").read()
    assert "http://" not in text and "https://" not in text
    assert "<link" not in text and "<script" not in text and "@import" not in text
    srcs = re.findall(r'src="([^"]*)"', text)
    assert len(srcs) == len(figures)
    assert all(s.startswith("data:image/png;base64,") for s in srcs)
    embedded = {base64.b64decode(s.split(",", 1)[1]) for s in srcs}
    for png in figures.values():
        with open(png, "rb") as f:
            assert f.read() in embedded                 # byte for byte, each figure once
    for title in figures:
        assert f"<figcaption>{title}</figcaption>" in text


def test_report_shows_the_numbers_and_escapes_text(run):
    path, _, metrics = run
    text = open(path, encoding="utf-8").read()
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in text
    assert "&lt;b&gt;fake&lt;/b&gt;" in text
    for name in ("ROC AUC", "sensitivity (recall)", "specificity", "test at 0.5", "train seconds",
                 "duplicates removed", "class weights", "PNEUMONIA"):
        assert name in text
    auc_lo, auc_hi = metrics["test"]["auc_ci"]
    assert f"{metrics['test']['auc']:.3f}" in text and f"[{auc_lo:.3f}, {auc_hi:.3f}]" in text
    (tn, fp), (fn, tp) = metrics["test"]["confusion_matrix"]
    assert f"<td>{tn} true negatives</td><td>{fp} false positives</td>" in text
    assert f"<td>{fn} false negatives</td><td>{tp} true positives</td>" in text
    assert '<th scope="row">augment</th><td>yes</td>' in text       # a boolean in words


def test_values_read_as_words_never_as_python_reprs():
    assert [text(v) for v in (True, False, None, np.bool_(True), 3, np.int64(7))] == \
        ["yes", "no", "none", "yes", "3", "7"]
    assert [text(v) for v in (0.5, 1e-4, 12.25, 394.0, float("nan"), 2e7)] == \
        ["0.500", "0.0001", "12.2", "394", "n/a", "2e+07"]
    assert text([0.1, True, None]) == "0.100, yes, none"
    assert text({"NORMAL": 1.5, "PNEUMONIA": None}) == "NORMAL: 1.500; PNEUMONIA: none"
    page_text = render_report(settings={"flag": False, "missing": None, "sizes": [224, 224],
                                        "weights": {"a": 1.0}, "nested": {"x": {"y": 1}}})
    visible = re.sub(r"<style>.*?</style>|<[^>]+>", " ", page_text, flags=re.S)
    assert not re.search(r"\{'|\['|\bFalse\b|\bNone\b", visible), visible


def test_html_blocks_escape_text_and_keep_markup():
    assert HTML("<b>") + "a<b" == "<b>a&lt;b" and isinstance(HTML("<b>") + "x", HTML)
    assert "x<" + HTML("<i>") == "x&lt;<i>"
    assert esc(HTML("<i>")) == "<i>" and esc("<i>") == "&lt;i&gt;"
    t = table([["row <1>", 2.5, HTML("<em>ok</em>")]], head=["", "value", "note"], caption="C&D")
    assert "<caption>C&amp;D</caption>" in t and '<th scope="row">row &lt;1&gt;</th>' in t
    assert '<td class="num">2.500</td><td><em>ok</em></td>' in t
    s = section("Title", "plain <text>", HTML("<p>markup</p>"), id="part")
    assert s == '<section id="part"><h2>Title</h2>plain &lt;text&gt;<p>markup</p></section>'
    doc = page("T", s, script="var a = 1;")
    assert doc.startswith("<!DOCTYPE html>") and "@media print" in doc and "size: A4" in doc
    assert doc.count("<script>") == 1 and doc.index(s) < doc.index("<script>")


def test_hide_images_removes_the_films_pixels_only(run):
    _, figures, _ = run
    png = next(iter(figures.values()))
    films = figure("film", png, cls="film") + figure("plot", png)
    hidden = hide_images(films, "film")
    srcs = re.findall(r'<img[^>]*src="([^"]*)"', hidden)
    assert srcs[0].startswith("data:image/gif") and srcs[1].startswith("data:image/png")
    assert 'class="hidden-film film"' in hidden and 'alt="film"' in hidden    # place kept
    assert hide_images(films, "none") == films


def test_environment_names_versions_threads_and_machine():
    env = environment()
    assert env["versions"]["NumPy"] == np.__version__ and "Python" in env["versions"]
    assert "OPENBLAS_NUM_THREADS" in env["threads"] and env["machine"]["logical CPUs"]
    assert all(isinstance(v, str) for block in env.values() for v in block.values())


def test_missing_figure_is_shown_not_hidden(tmp_path):
    text = render_report(figures={"ROC curve": str(tmp_path / "nope.png")})
    assert "missing" in text and "nope.png" in text and "<img" not in text
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    with pytest.raises(ValueError, match="neither a PNG"):
        render_report(figures={"x": str(bad)})


def test_report_renders_in_headless_chromium(run, tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("chromium is not installed (apt-get install chromium) - render check skipped")
    path, _, _ = run
    shot = tmp_path / "shot.png"
    cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}", "--window-size=1200,1600",
           "file://" + os.path.abspath(path)]
    subprocess.run(cmd, check=True, timeout=120, capture_output=True)
    assert shot.stat().st_size > 0
    with Image.open(shot) as im:
        assert im.size == (1200, 1600)
        pixels = np.asarray(im.convert("L"), dtype=np.float64)
    assert pixels.std() > 10                              # text, tables and figures, not a blank page
    assert (pixels < 128).mean() > 0.005                  # dark ink somewhere
