"""Run every ```python block of docs/*.md, in order, and check the output the page shows.

Each page runs like a notebook: its blocks execute one after the other in ONE namespace
(a fresh one per page), in a temporary working directory. The rules a page follows:

* A ```python block may be followed (blank lines allowed, nothing else) by a ```text block:
  what the block prints must equal that text. ``...`` matches anything (doctest's
  ELLIPSIS), for values that honestly differ between runs (timings, sizes of your files).
* A ```python block that prints something MUST show it in a ```text block: a page never
  hides output from the learner, and never claims output it does not produce.
* ```python needs-data marks a block that reads the real X-rays under ``$MINICNN_DATA``.
  Without that variable, that block and every later block of the page are skipped (they
  use its results) and the test reports the skip with its reason; CI sets the variable,
  so there every block runs.
* A page can also run on either source of X-rays: the Kaggle folder under
  ``$MINICNN_DATA`` ("full-set") or the 28x28 set embedded in minicnn ("embedded", when
  the variable is unset). ```python full-set (or ```python embedded) marks a block that
  runs with that source only; the page's prose says what the other source does instead.
  A block whose output depends on the source shows one ```text full-set and one
  ```text embedded block after it, each of which may be introduced by one line of prose
  (its label, such as ``*224x224 RGB (MINICNN_DATA):*``). Such a page is tested once per
  source: with ``MINICNN_DATA`` unset for "embedded", so that half runs everywhere.
* Other blocks (```bash, ```text not after python) are for reading; they are not run.
* A page that draws figures writes them to ``img/`` of the working directory (run from
  ``docs/``, it rewrites ``docs/img``); each one it writes must be shown on the page and
  committed there at the same pixel size (``check_figures``).
* With ``NUMBA_DISABLE_JIT=1`` the pages are skipped (interpreted kernels at 224x224
  would take many minutes); the parser and shape tests still run.

Why not doctest's ``>>>`` blocks? A learner copies code into a Python session or a file;
prompts get in the way of copying, and a loop or a class reads badly behind ``...``.
Plain code with its output underneath reads like a notebook and is checked the same way.

The walkthrough's layer shapes are also checked without any data, for both sources,
against the model its own code builds (``test_walkthrough_shapes_match_its_model``), and
that model against the example's ``original_cnn`` (``examples/chest_xray/models.py``).
"""

import ast
import contextlib
import doctest
import io
import os
import re
import sys
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.glob("*.md"))
SOURCES = ("full-set", "embedded")
KNOWN_TAGS = {"needs-data", *SOURCES}
# Pages that record measurements (the experiment log, the performance diary): their commands
# are ```bash blocks that take minutes to hours, so the suite does not run them, and the pages
# hold no python block. Every other page is a learning page with code that runs.
RECORD_PAGES = {"experiments.md", "performance.md", "shortcuts.md"}
LEARNING_PAGES = [p for p in PAGES if p.name not in RECORD_PAGES]
FENCE = re.compile(r"^```(.*)$")


# --------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------
def parse_blocks(text, name="<page>"):
    """Fenced blocks of a Markdown page: list of dicts with lang, tags, code, line.

    ``line`` is the 1-based line number of the first line of code (after the fence).
    Also records, for each block, the non-blank lines between it and the block before
    (``gap``; the page's start counts as one) and whether there are none
    (``follows_previous``). Raises ValueError on an unclosed fence.
    """
    blocks, lines = [], text.splitlines()
    i, last_end = 0, None
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        info = match.group(1).strip().split()
        start = i + 1
        j = start
        while j < len(lines) and lines[j].rstrip() != "```":
            j += 1
        if j == len(lines):
            raise ValueError(f"{name}:{i + 1}: code fence is never closed")
        between = lines[last_end + 1:i] if last_end is not None else ["<start of page>"]
        gap = [s for s in between if s.strip()]
        blocks.append({
            "lang": info[0] if info else "",
            "tags": set(info[1:]),
            "code": "\n".join(lines[start:j]) + "\n",
            "line": start + 1,
            "gap": gap,
            "follows_previous": not gap,
        })
        last_end = j
        i = j + 1
    return blocks


def _source_output(block):
    """The sources a ```text block is the output for ({} for an untagged one)."""
    return block["tags"] & set(SOURCES) if block["lang"] == "text" else set()


def runnable_steps(blocks):
    """[(python block, expected output)] in page order.

    The expected output is None (the block must print nothing), a str (the same for both
    sources) or a dict {source: str} from the ```text full-set / ```text embedded blocks
    after it. Raises ValueError for a source's output that follows no python block, or a
    source shown twice.
    """
    steps, claimed = [], set()
    for k, block in enumerate(blocks):
        if block["lang"] != "python":
            continue
        nxt = blocks[k + 1] if k + 1 < len(blocks) else None
        expected = None
        if nxt is not None and nxt["lang"] == "text" and not nxt["tags"] and nxt["follows_previous"]:
            expected = nxt["code"]
        else:
            per_source, j = {}, k + 1
            while j < len(blocks) and _source_output(blocks[j]) and len(blocks[j]["gap"]) <= 1:
                for source in _source_output(blocks[j]):
                    if source in per_source:
                        raise ValueError(f"line {blocks[j]['line']}: a second {source} output "
                                         f"for the python block at line {block['line']}")
                    per_source[source] = blocks[j]["code"]
                claimed.add(j)
                j += 1
            expected = per_source or None
        steps.append((block, expected))
    for j, block in enumerate(blocks):
        if _source_output(block) and j not in claimed:
            raise ValueError(f"line {block['line']}: a ```text {' '.join(sorted(block['tags']))} "
                             "output must follow a python block (at most one line of prose "
                             "between, its label)")
    return steps


def page_sources(blocks):
    """The sources a page distinguishes: () if none of its blocks is tagged with one."""
    used = set().union(*(b["tags"] & set(SOURCES) for b in blocks)) if blocks else set()
    return SOURCES if used else ()


def data_folder():
    """The real X-ray folder from ``$MINICNN_DATA``, or None with the reason."""
    path = os.environ.get("MINICNN_DATA")
    if not path:
        return None, "MINICNN_DATA is not set (point it at the chest_xray folder to run these blocks)"
    if not os.path.isdir(path):
        return None, f"MINICNN_DATA={path!r} is not a folder"
    return path, None


# --------------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------------
_CHECKER = doctest.OutputChecker()


def run_page(path):
    """Run a page's python blocks in order; return (blocks run, skip reason or None).

    The source is "full-set" when ``$MINICNN_DATA`` names a folder, else "embedded":
    blocks tagged with the other source are passed over, and a dict of outputs gives
    this source's.
    """
    blocks = parse_blocks(path.read_text(encoding="utf-8"), path.name)
    namespace = {"__name__": "__docs__", "__file__": str(path)}
    data, why_no_data = data_folder()
    source = "full-set" if data is not None else "embedded"
    ran = 0
    for block, expected in runnable_steps(blocks):
        where = f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}:{block['line']}"
        if "needs-data" in block["tags"] and data is None:
            return ran, f"{where} and the blocks after it need the X-rays: {why_no_data}"
        if block["tags"] & set(SOURCES) and source not in block["tags"]:
            continue
        if isinstance(expected, dict):
            expected = expected.get(source)
        # Pad with newlines so tracebacks point at the page's own line numbers.
        code = compile("\n" * (block["line"] - 1) + block["code"], str(path), "exec")
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(code, namespace)  # noqa: S102 - running our own documentation is the point
        got = out.getvalue()
        ran += 1
        if expected is None:
            assert got == "", (
                f"{where}: the block prints output the page does not show; add a ```text "
                f"block right after it with:\n{got}")
        else:
            assert _CHECKER.check_output(expected, got, doctest.ELLIPSIS), (
                f"{where}: the output differs from the page.\n--- page shows:\n{expected}"
                f"--- code printed:\n{got}")
    return ran, None


@pytest.fixture
def clean_registry():
    """Layers a page defines (its own LeakyReLU) leave the global registry as they found it."""
    from minicnn.layers.base import LAYER_REGISTRY

    before = dict(LAYER_REGISTRY)
    yield
    LAYER_REGISTRY.clear()
    LAYER_REGISTRY.update(before)


def _page_runs():
    """(page, source or None) for each run: once per source for a page that has sources."""
    runs = []
    for page in LEARNING_PAGES:
        sources = page_sources(parse_blocks(page.read_text(encoding="utf-8"), page.name))
        runs += [pytest.param(page, s, id=f"{page.name}-{s}") for s in sources] or \
            [pytest.param(page, None, id=page.name)]
    return runs


@pytest.mark.parametrize("page, source", _page_runs())
def test_page_runs_and_prints_what_it_shows(page, source, tmp_path, monkeypatch, clean_registry):
    import numba

    if numba.config.DISABLE_JIT:
        # The pages run the real model at 224x224 and time compiled kernels (kernels.md
        # uses ``.py_func``, which only a compiled function has); as interpreted Python
        # loops that would take many minutes. The kernels' JIT-free correctness is
        # tested in tests/kernels/.
        pytest.skip("NUMBA_DISABLE_JIT=1: the docs run with compiled kernels only")
    if source == "full-set" and data_folder()[0] is None:
        pytest.skip(f"the full-set half of {page.name} needs the X-rays: {data_folder()[1]}")
    if source == "embedded":
        monkeypatch.delenv("MINICNN_DATA", raising=False)   # the page picks the embedded set
    monkeypatch.chdir(tmp_path)  # pages may write files (a saved model); keep the repo clean
    monkeypatch.setenv("MPLBACKEND", "Agg")
    start = time.perf_counter()
    ran, skipped = run_page(page)
    elapsed = time.perf_counter() - start
    sys.stderr.write(f"{page.name}: {ran} blocks in {elapsed:.1f} s\n")
    if skipped:
        pytest.skip(f"ran {ran} blocks; skipped the rest: {skipped}")
    assert ran > 0, f"{page.name}: no python block ran"
    check_figures(page, tmp_path)


IMAGE_LINK = re.compile(r"!\[[^\]]*\]\((img/[^)\s]+\.png)\)")
MAX_FIGURE_BYTES = 80_000


def check_figures(page, workdir):
    """The figures a page writes into ``img/`` are the ones it shows, and they are committed.

    A page that draws its own figures (inside_a_cnn.md) writes them to ``img/`` of the
    working directory, so run from ``docs/`` it rewrites ``docs/img``. Here it ran in a
    temporary folder: every PNG it wrote must be linked from the page and committed in
    ``docs/img`` with the same pixel size, small enough for the repository. (The pixels
    are not compared: fonts and antialiasing differ between matplotlib builds, and a
    stale figure can differ from a fresh one by less than that.)
    """
    from PIL import Image

    written = sorted(p.name for p in (workdir / "img").glob("*.png"))
    if not written:
        return
    text = page.read_text(encoding="utf-8")
    linked = {Path(m).name for m in IMAGE_LINK.findall(text)}
    for name in written:
        committed = DOCS / "img" / name
        assert name in linked, f"{page.name} writes img/{name} but does not show it"
        assert committed.is_file(), (f"{page.name} writes img/{name}, which is not in docs/img: "
                                     f"run the page from docs/ and commit the figure")
        size = committed.stat().st_size
        assert size <= MAX_FIGURE_BYTES, f"docs/img/{name} is {size} bytes; keep figures small"
        with Image.open(committed) as old, Image.open(workdir / "img" / name) as new:
            assert old.size == new.size, (f"docs/img/{name} is {old.size} pixels, the page now "
                                          f"draws {new.size}: run the page from docs/ again")


def test_the_learning_pages_exist_and_have_code():
    names = {p.name for p in LEARNING_PAGES}
    assert {"walkthrough.md", "write_a_layer.md", "kernels.md", "softmax.md", "inside_a_cnn.md"} <= names
    for page in LEARNING_PAGES:
        blocks = parse_blocks(page.read_text(encoding="utf-8"), page.name)
        steps = runnable_steps(blocks)
        assert len(steps) >= 5, f"{page.name}: only {len(steps)} python blocks"
        assert sum(expected is not None for _, expected in steps) >= 3, page.name
        for block in blocks:
            unknown = block["tags"] - KNOWN_TAGS
            assert not unknown, f"{page.name}:{block['line']}: unknown tag(s) {unknown}"
            if block["lang"] == "python":
                ast.parse(block["code"])  # every block is valid Python even when skipped
        for link in IMAGE_LINK.findall(page.read_text(encoding="utf-8")):
            assert (DOCS / link).is_file(), f"{page.name} shows {link}, which does not exist"


# --------------------------------------------------------------------------------------
# The runner itself
# --------------------------------------------------------------------------------------
PAGE = '''Intro.

```python
x = 2
print(x + 1)
```

```text
3
```

Prose.

```text
not an output: prose comes between
```

```python needs-data
print(open(DATA).read())
```
'''


def test_parser_pairs_outputs_only_when_adjacent():
    blocks = parse_blocks(PAGE)
    assert [b["lang"] for b in blocks] == ["python", "text", "text", "python"]
    assert blocks[0]["line"] == 4 and blocks[3]["tags"] == {"needs-data"}
    steps = runnable_steps(blocks)
    assert [expected for _, expected in steps] == ["3\n", None]


def test_parser_rejects_an_unclosed_fence():
    with pytest.raises(ValueError, match="never closed"):
        parse_blocks("```python\nprint(1)\n")


def _page(tmp_path, text):
    path = tmp_path / "page.md"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("text, message", [
    ("```python\nprint(1)\n```\n\n```text\n2\n```\n", "output differs"),
    ("```python\nprint(1)\n```\n", "does not show"),
])
def test_runner_fails_on_wrong_or_hidden_output(tmp_path, text, message):
    with pytest.raises(AssertionError, match=message):
        run_page(_page(tmp_path, text))


def test_runner_ellipsis_shared_namespace_and_data_skip(tmp_path, monkeypatch):
    text = ("```python\nimport time\nt = 41\nprint('took', time.time(), 's')\n```\n\n"
            "```text\ntook ... s\n```\n\n```python\nprint(t + 1)\n```\n\n```text\n42\n```\n\n"
            "```python needs-data\nraise RuntimeError('must not run')\n```\n")
    monkeypatch.delenv("MINICNN_DATA", raising=False)
    ran, skipped = run_page(_page(tmp_path, text))
    assert ran == 2 and "MINICNN_DATA is not set" in skipped


def test_the_record_pages_exist_and_hold_commands_not_code():
    for name in sorted(RECORD_PAGES):
        page = DOCS / name
        assert page.is_file(), f"docs/{name} is missing"
        blocks = parse_blocks(page.read_text(encoding="utf-8"), name)
        assert not [b for b in blocks if b["lang"] == "python"], (
            f"{name}: a python block here would never run; move it to a learning page")
    performance = parse_blocks((DOCS / "performance.md").read_text(encoding="utf-8"))
    assert any(b["lang"] == "bash" and "benchmarks/" in b["code"] for b in performance)
    experiments = (DOCS / "experiments.md").read_text(encoding="utf-8")
    assert "python examples/pneumonia.py" in experiments


SOURCED_PAGE = """Intro.

```python
import os
source = "full" if os.environ.get("MINICNN_DATA") else "embedded"
print(source, 1)
```

*With the folder:*

```text full-set
full 1
```

*Without:*

```text embedded
embedded 1
```

```python full-set
print("only with the folder")
```

```text
only with the folder
```

```python
print("both")
```

```text
both
```
"""


def test_parser_gives_each_source_its_output_and_finds_sources():
    blocks = parse_blocks(SOURCED_PAGE)
    steps = runnable_steps(blocks)
    assert steps[0][1] == {"full-set": "full 1\n", "embedded": "embedded 1\n"}
    assert steps[1][1] == "only with the folder\n" and steps[2][1] == "both\n"
    assert page_sources(blocks) == SOURCES
    assert page_sources(parse_blocks(PAGE)) == ()


@pytest.mark.parametrize("text, message", [
    ("Prose.\n\n```text embedded\n1\n```\n", "must follow a python block"),
    ("```python\nprint(1)\n```\n\nTwo lines\nof prose.\n\n```text embedded\n1\n```\n",
     "must follow a python block"),
    ("```python\nprint(1)\n```\n\n```text embedded\n1\n```\n\n```text embedded\n1\n```\n",
     "a second embedded output"),
])
def test_parser_rejects_misplaced_source_outputs(text, message):
    with pytest.raises(ValueError, match=message):
        runnable_steps(parse_blocks(text))


def test_runner_runs_each_source_with_its_blocks_and_outputs(tmp_path, monkeypatch):
    page = _page(tmp_path, SOURCED_PAGE)
    monkeypatch.delenv("MINICNN_DATA", raising=False)
    assert run_page(page) == (2, None)            # the full-set block is passed over
    monkeypatch.setenv("MINICNN_DATA", str(tmp_path))
    assert run_page(page) == (3, None)
    # The other source's output is not accepted for this one.
    wrong = _page(tmp_path, SOURCED_PAGE.replace("full 1", "embedded 1"))
    with pytest.raises(AssertionError, match="output differs"):
        run_page(wrong)


def test_check_figures_wants_each_written_figure_shown_and_committed(tmp_path):
    (tmp_path / "img").mkdir()
    (tmp_path / "page.md").write_text("![a figure](img/not_in_docs.png)\n", encoding="utf-8")
    from PIL import Image

    Image.new("RGB", (4, 4)).save(tmp_path / "img" / "not_in_docs.png")
    with pytest.raises(AssertionError, match="not in docs/img"):
        check_figures(tmp_path / "page.md", tmp_path)
    (tmp_path / "page.md").write_text("no link\n", encoding="utf-8")
    with pytest.raises(AssertionError, match="does not show it"):
        check_figures(tmp_path / "page.md", tmp_path)


# --------------------------------------------------------------------------------------
# The walkthrough's shapes, checked without data
# --------------------------------------------------------------------------------------
SHAPE_LINE = re.compile(r"^(\w+)\s+-> \(([\d, ]+)\)")   # "conv2d_1    -> (4, 109, 109, 64) ..."


def _walkthrough_model(input_shape):
    """The model the walkthrough's own code builds (section 5), for ``input_shape``, no data.

    Runs the block that defines ``original_cnn`` with a stand-in batch of that shape (the
    block builds the model from ``images.shape[1:]``) and returns its ``model``.
    """
    blocks = parse_blocks((DOCS / "walkthrough.md").read_text(encoding="utf-8"))
    (block,) = [b for b in blocks if b["lang"] == "python" and "def original_cnn" in b["code"]]
    namespace = {"images": np.zeros((1, *input_shape), np.float32)}
    with contextlib.redirect_stdout(io.StringIO()):          # it prints the summary
        exec(compile(block["code"], "walkthrough.md", "exec"), namespace)  # noqa: S102
    return namespace["model"]


@pytest.mark.parametrize("source, input_shape", [("full-set", (224, 224, 3)),
                                                 ("embedded", (28, 28, 1))])
def test_walkthrough_shapes_match_its_model(source, input_shape):
    """Every ``name -> (shape)`` line the walkthrough prints for a source is that layer's output.

    The page prints these lines as it runs the model forward on a batch; here we build
    the page's model for that source's films and compare, so a change to the model or
    the layers that alters a shape fails even where the X-rays are not available. Lines
    in an untagged output count for both sources.
    """
    model = _walkthrough_model(input_shape)
    shapes = {layer.name: tuple(layer.output_shape) for layer in model.layers}
    blocks = parse_blocks((DOCS / "walkthrough.md").read_text(encoding="utf-8"))
    outputs = [b["code"] for b in blocks
               if b["lang"] == "text" and (not b["tags"] or source in b["tags"])]
    found = {}
    for block in outputs:
        for line in block.splitlines():
            match = SHAPE_LINE.match(line)
            if match:
                found[match.group(1)] = tuple(int(d) for d in match.group(2).split(","))
    assert set(found) == set(shapes), f"layers shown {sorted(found)} vs model {sorted(shapes)}"
    batch = {shape[0] for shape in found.values()}
    assert len(batch) == 1, f"one batch size throughout, got {batch}"
    (b,) = batch
    for name, shape in shapes.items():
        assert found[name] == (b,) + shape, f"{name}: page shows {found[name]}, model gives {(b,) + shape}"
    # And the shapes really come out of a forward pass (not just output_shape bookkeeping).
    x = np.zeros((1, *input_shape), np.float32)
    for layer in model.layers:
        x = layer(x)
        assert x.shape[1:] == shapes[layer.name]


def test_walkthrough_model_is_the_original():
    """The page builds the original project's model inline: its layers and its size.

    At 224x224x3 the original TensorFlow model has 11,169,089 parameters, 11,075,712 of
    them in the Dense(128) that reads the 26x26x128 map; every layer starts from
    glorot_uniform (Keras's default) and Dropout(0.5) sits before the last Dense(1).
    """
    model = _walkthrough_model((224, 224, 3))
    assert [type(layer).__name__ for layer in model.layers] == [
        "Conv2D", "ReLU", "MaxPool2D"] * 3 + ["Flatten", "Dense", "ReLU", "Dropout", "Dense"]
    convs = [layer for layer in model.layers if type(layer).__name__ == "Conv2D"]
    assert [c.filters for c in convs] == [32, 64, 128]
    assert all(c.kernel_initializer == "glorot_uniform" for c in convs)
    assert model.count_params() == 11_169_089
    assert model.layers[10].params["W"].shape == (86528, 128)
    assert model.layers[12].rate == 0.5


def test_walkthrough_model_is_the_examples_original_cnn():
    """The page's inline model and the example's ``original_cnn`` are one model: same layers,
    same initial weights for the same seed (so the page teaches the model the example trains)."""
    sys.path.insert(0, str(ROOT / "examples"))
    try:
        chest_xray_models = pytest.importorskip("chest_xray.models")
    finally:
        sys.path.remove(str(ROOT / "examples"))
    for input_shape in [(224, 224, 3), (28, 28, 1)]:
        page_model = _walkthrough_model(input_shape)
        example_model = chest_xray_models.original_cnn(input_shape, seed=0)
        assert [type(l).__name__ for l in page_model.layers] == \
            [type(l).__name__ for l in example_model.layers]
        for mine, theirs in zip(page_model.get_weights(), example_model.get_weights()):
            np.testing.assert_array_equal(mine, theirs)
