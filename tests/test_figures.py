"""Figures drawn by their snippets (`# guide: figure=name.svg`): collected by the runner, shown
inline on the page in both palettes with their alt text, and carried into the notebook. A figure
follows the model it draws: change the model, and the figure changes and the claim citing the old
number fails the build."""

from __future__ import annotations

import json

import lxml.html
import pytest
from conftest import first
from tiny_guide import TinyGuide

from guide_build.core.figures import themed_svg
from guide_build.core.runner import SnippetFailed, run_snippet

FIGURE_SNIPPET = """# guide: figure=line.svg
\"\"\"Three points, drawn.\"\"\"

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

plt.rcParams["svg.hashsalt"] = "guide"  # the same ids in every run
points = [1, 3, 2]
fig, ax = plt.subplots(figsize=(3, 2))
ax.plot(points, color="C0")
fig.savefig("line.svg", metadata={"Date": None})
highest = max(points)
print("highest point:", highest)
assert highest == 3
"""


def test_a_declared_figure_is_returned_and_not_counted_as_left_behind(tmp_path):
    snippet = tmp_path / "draw.py"
    snippet.write_text(FIGURE_SNIPPET, encoding="utf-8")
    run = run_snippet(snippet, device="cpu")
    assert list(run.figures) == ["line.svg"] and "<svg" in run.figures["line.svg"]
    assert run_snippet(snippet, device="cpu").figures == run.figures, "two runs drew different files"


def test_a_missing_figure_fails_and_an_undeclared_one_is_left_behind(tmp_path):
    missing = tmp_path / "missing.py"
    missing.write_text("# guide: figure=absent.svg\nprint('no figure')\n", encoding="utf-8")
    with pytest.raises(SnippetFailed, match="declares the figure absent.svg"):
        run_snippet(missing, device="cpu")
    undeclared = tmp_path / "undeclared.py"
    undeclared.write_text(FIGURE_SNIPPET.replace("# guide: figure=line.svg\n", ""), encoding="utf-8")
    with pytest.raises(SnippetFailed, match="left files behind in its working directory: line.svg"):
        run_snippet(undeclared, device="cpu")


def test_a_themed_figure_follows_the_palette_and_keeps_its_ids_apart():
    svg = (
        '<?xml version="1.0"?>\n<svg width="10pt" height="5pt" viewBox="0 0 10 5">'
        '<defs><style type="text/css">*{stroke-linecap: butt}</style><clipPath id="p1"/></defs>'
        '<g id="line2d_1"><path clip-path="url(#p1)" style="stroke: #000000; fill: #ffffff"/></g>'
        '<use xlink:href="#m2" x="1.234567"/><path id="m2" d="M 57.6 -214.456875"/>'
        '<text style="font-size: 10.123456px">0.015625</text></svg>'
    )
    themed = themed_svg(svg, 'A "line"', "example-a")
    assert themed.startswith("<svg") and 'aria-label="A &quot;line&quot;"' in themed and 'role="img"' in themed
    assert 'id="example-a-p1"' in themed and "url(#example-a-p1)" in themed
    assert 'id="example-a-m2"' in themed and 'xlink:href="#example-a-m2"' in themed
    assert "line2d_1" not in themed  # an id that nothing refers to is dropped
    assert 'x="1.23"' in themed and 'd="M 57.6 -214.45"' in themed  # coordinates, to 0.01 pt
    assert "10.123456px" in themed and ">0.015625<" in themed  # styles and text as they were
    assert "#example-a-figure *{" in themed and 'id="example-a-figure"' in themed  # its style stays its own
    assert "#000000" not in themed and "currentColor" in themed and "var(--md-default-bg-color, transparent)" in themed


PARAMETER_FIGURE = """# guide: figure=parameters.svg
\"\"\"Each layer's parameter count, drawn from the model.\"\"\"

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from torch import nn

plt.rcParams["svg.hashsalt"] = "guide"
model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
counts = {name: sum(p.numel() for p in layer.parameters()) for name, layer in model.named_children()}
counts = {name: count for name, count in counts.items() if count}
fig, ax = plt.subplots(figsize=(3, 2))
ax.bar(list(counts), list(counts.values()))
fig.savefig("parameters.svg", metadata={"Date": None})
total = sum(p.numel() for p in model.parameters())
first_count = counts["0"]
print("parameters per layer:", counts, "total:", total)
assert total == sum(counts.values())
"""


ALT = "Bars: 15 parameters, then 8"  # as a screen reader hears it; the page checks the first number
ALT_WRITTEN = ALT.replace("15", "**15**{ data-claim='part/02_second.py:first_count' }")


@pytest.fixture(scope="module")
def figure_guide(tmp_path_factory):
    """A tiny guide whose second page shows PARAMETER_FIGURE's drawing and cites its total, built once."""
    root = tmp_path_factory.mktemp("figure-guide")
    guide = TinyGuide(root / "guide")
    guide.write("snippets/part/02_second.py", PARAMETER_FIGURE)
    guide.write(
        "docs/part/second.md",
        '# Second\n\nThe model has **23**{ data-claim="part/02_second.py:total" } parameters.\n\n'
        f'```python exec="on" title="snippets/part/02_second.py" alt="{ALT_WRITTEN}"\n'
        '--8<-- "snippets/part/02_second.py"\n```\n',
    )
    result = guide.build(root / "site")
    assert result.returncode == 0, result.stderr[-3000:]
    return guide, root / "site"


def test_the_page_shows_the_figure_inline_and_the_notebook_carries_it(figure_guide):
    _, site = figure_guide
    figure = first(lxml.html.fromstring((site / "part/second/index.html").read_bytes()), "figure.guide-figure")
    drawing = None if figure is None else first(figure, "svg")
    assert drawing is not None and drawing.get("aria-label") == ALT and drawing.get("role") == "img"
    notebook = json.loads((site / "notebooks/part/second/second.ipynb").read_text(encoding="utf-8"))
    outputs = [output for cell in notebook["cells"] if cell["cell_type"] == "code" for output in cell["outputs"]]
    figures = [output["data"] for output in outputs if "image/svg+xml" in output.get("data", {})]
    assert len(figures) == 1 and f'aria-label="{ALT}"' in "".join(figures[0]["text/html"])  # named there too


def test_changing_the_model_a_figure_draws_changes_the_figure_and_fails_the_claim_citing_it(figure_guide, tmp_path):
    guide, _ = figure_guide
    snippet = guide.root / "snippets/part/02_second.py"
    before = run_snippet(snippet, device="cpu").figures["parameters.svg"]
    guide.write(
        "snippets/part/02_second.py",
        PARAMETER_FIGURE.replace("(4, 3), nn.ReLU(), nn.Linear(3,", "(4, 5), nn.ReLU(), nn.Linear(5,"),
    )
    after = run_snippet(snippet, device="cpu").figures["parameters.svg"]
    assert after != before, "the figure did not follow the model"
    assert run_snippet(snippet, device="cpu").figures["parameters.svg"] == after  # and not by chance
    result = guide.build(tmp_path / "site-changed")
    assert result.returncode != 0
    assert (
        "docs/part/second.md:3: the page says '23' for snippets/part/02_second.py:total, but the snippet computed 37"
    ) in result.stderr
    assert (  # the alt text's number is checked as the prose's is
        "docs/part/second.md:5: the page says '15' for snippets/part/02_second.py:first_count, but the snippet computed 25"
    ) in result.stderr
