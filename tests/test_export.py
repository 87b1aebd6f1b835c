"""tb.export_summary: the HTML page and the Markdown, written from a real store."""

from __future__ import annotations

import json
import math
import re
import time
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

import trackbook as tb
from trackbook import summarycharts, summaryhtml
from trackbook.export import ExportError

EVIL = "</script><script>alert(1)</script>"
NOTE = "1e-3 diverged after epoch 8 <b>bold</b> & more\nsecond line"
SOURCE = "lr = 1e-3\nseed = 0\n# a comment with </script> and <!-- in it\ntrain(lr, seed)\n"


def _figure(title: str) -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot([0, 1, 2, 3], [3, 1, 2, 0.5])
    ax.set_title(title)
    return fig


@pytest.fixture
def sweep() -> list[str]:
    """Six runs of one experiment (3 learning rates x 2 seeds) and one of another."""
    import matplotlib.pyplot as plt

    ids = []
    for i, lr in enumerate((1e-4, 1e-3, 1e-2) * 2):
        seed = i // 3
        name = EVIL if i == 4 else f"lr={lr:g} seed={seed}"
        tags = ["baseline"] if i == 0 else {"owner": "ana", "html": "<img src=x onerror=alert(2)>"}
        with tb.start_run(name, experiment="cnn_sweep", tags=tags,
                          params={"lr": lr, "seed": seed, "optimizer": {"name": "adam"},
                                  "<i>key</i>": "v"},
                          code=SOURCE.replace("1e-3", repr(lr))) as run:
            for step in range(120):
                decay = math.exp(-step * lr * 30)
                run.log({"val/loss": decay + 0.1 * seed + 0.01 * i, "val_acc": 1 - decay / 2,
                         "loss": decay}, step=step)
            if i < 2:
                fig = _figure(f"confusion {i}")
                run.log_figure(fig, "confusion")
                plt.close(fig)
            run.log_text("plain text", "report.txt")
            run.note(NOTE if i == 1 else f"run {i}")
        ids.append(run.run_id)
    with tb.start_run("elsewhere", experiment="other", params={"lr": 0.5}) as run:
        run.log(loss=1.0)
    return ids


class Page(HTMLParser):
    """What a browser would see: tags with their attributes, scripts and text."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self._in: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if self._in and self._in[-1] == tag:
            self._in.pop()

    def handle_data(self, data: str) -> None:
        if "script" not in self._in[-1:] and "style" not in self._in[-1:]:
            self.text.append(data)

    def all(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]

    @property
    def words(self) -> str:
        """The text as read: whitespace runs as one space."""
        return re.sub(r"\s+", " ", "".join(self.text))


def _data_block(html: str) -> str:
    start = html.index('<script type="application/json" id="tb-data">')
    return html[start:html.index("</script>", start)].split(">", 1)[1]


def test_html_holds_leaderboard_curves_params_and_run_facts(sweep: list[str],
                                                            tmp_path: Path) -> None:
    path = tb.export_summary(tmp_path / "summary.html", experiment="cnn_sweep")
    assert path == (tmp_path / "summary.html") and path.is_file()
    html = path.read_text(encoding="utf-8")
    page = Page(html)
    text = page.words

    assert "<title>cnn_sweep: summary</title>" in html
    assert "6 runs" in text and "cnn_sweep" in text and "elsewhere" not in text
    # Ranked by the held-out loss (logged by every run), its best value, lower is better.
    assert "ranked by val/loss.min" in text and "lower is better" in text
    board = html[html.index('id="leaderboard-table"'):]
    board = board[:board.index("</table>")]
    assert board.count("<tr") == 1 + 3  # header + one row per learning rate (over seeds)
    # The params that differ head the runs table; the rest are listed once.
    runs_table = html[html.index('id="runs-table"'):]
    runs_table = runs_table[:runs_table.index("</table>")]
    assert '<th scope="col" class="param"><button type="button">lr</button>' in runs_table
    assert ">seed</button>" in runs_table
    assert "Same in every run:" in text and "optimizer.name=adam" in text
    assert "&lt;i&gt;key&lt;/i&gt;=v" in html  # a param key is text too
    # Per run: notes, tags, lineage (cell source), artifacts with a thumbnail.
    assert "1e-3 diverged after epoch 8 <b>bold</b> & more\nsecond line" in "".join(page.text)
    assert "owner=ana" in text and "baseline" in text
    assert "Cell source · 5 lines" in text and "train(lr, seed)" in text
    assert "confusion.png" in text and "report.txt" in text
    thumbs = [a["src"] for a in page.all("img")]
    assert len(thumbs) == 2 and all(str(s).startswith("data:image/png;base64,") for s in thumbs)
    assert len({a["id"] for a in page.all("details") if a.get("id")}) == 6
    # One interactive chart per metric, the ranked one first, every run drawn.
    data = json.loads(_data_block(html))
    assert [c["metric"] for c in data["charts"]] == ["val/loss", "val_acc", "loss"]
    spec = data["charts"][0]["spec"]
    assert any(p.get("bind") == "legend" for p in spec["params"])
    [stored] = spec["datasets"].values()
    assert stored["tb_columns"] == 6 * 120  # short series come whole
    assert set(stored["fields"]["run_id"]["levels"]) == set(sweep)


def test_everything_user_written_is_escaped(sweep: list[str], tmp_path: Path) -> None:
    html = tb.export_summary(tmp_path / "s.html", experiment="cnn_sweep").read_text()
    page = Page(html)
    # The run name and the note appear, but only as text.
    assert EVIL in page.words
    assert "<script>alert(1)" not in html and "<b>bold</b>" not in html
    assert "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b&gt;bold&lt;/b&gt;" in html
    assert "onerror=alert" not in html.replace("onerror=alert(2)&gt;", "")
    # Exactly three scripts: the JSON data, the vega bundle and the page's own.
    scripts = page.all("script")
    assert len(scripts) == 3 and scripts[0] == {"type": "application/json", "id": "tb-data"}
    assert not any("src" in s for s in scripts)
    # No element carries an event handler; nothing points outside the file.
    for tag, attrs in page.tags:
        assert not [a for a in attrs if a.lower().startswith("on")], (tag, attrs)
        for name in ("src", "href"):
            value = str(attrs.get(name) or "")
            assert not value or value.startswith(("#", "data:")), (tag, attrs)
    # The JSON block cannot end its element or bend the parser: those characters are escaped.
    block = _data_block(html)
    assert not set(block) & {"<", ">", "&", "\u2028", "\u2029"}
    assert EVIL in json.dumps(json.loads(block), ensure_ascii=False)
    # The policy forbids every fetch and runs only the page's two scripts, by hash.
    [policy] = [m["content"] for m in page.all("meta")
                if m.get("http-equiv") == "Content-Security-Policy"]
    assert str(policy).startswith("default-src 'none'; script-src 'sha256-")
    assert str(policy).count("'sha256-") == 2 and "connect-src" not in str(policy)
    assert "unsafe-eval" not in str(policy)  # vega runs expressions with its interpreter


def test_json_and_script_escaping_rules() -> None:
    text = summaryhtml.json_text({"a": "</script><!--&\u2028\u2029"})
    assert text == '{"a":"\\u003c/script\\u003e\\u003c!--\\u0026\\u2028\\u2029"}'
    assert json.loads(text) == {"a": "</script><!--&\u2028\u2029"}
    assert summaryhtml.script_text("x = '</script>'; // <!--") == "x = '<\\/script>'; // <\\!--"


def test_markdown_summary(sweep: list[str], tmp_path: Path) -> None:
    tb.rename(sweep[2], "pipe|name\nwith newline")
    path = tb.export_summary(tmp_path / "summary.md", experiment="cnn_sweep")
    text = path.read_text()
    assert text.startswith("# cnn\\_sweep: summary\n")
    assert "## Leaderboard" in text and "Ranked by val/loss.min (lower is better)" in text
    assert "## Params that differ" in text and "Same in every run:" in text
    assert "pipe\\|name<br>with newline" in text
    assert "\\</script\\>\\<script\\>alert(1)\\</script\\>" in text
    assert "<script>" not in text and "<b>" not in text
    assert "1e-3 diverged after epoch 8 \\<b\\>bold\\</b\\> &amp; more<br>second line" in text
    # Every row of a table has as many cells as its header (escaped pipes do not split).
    for table in re.findall(r"(?:^\|.*\|\n)+", text, flags=re.M):
        widths = {len(re.split(r"(?<!\\)\|", row)) for row in table.splitlines()}
        assert len(widths) == 1, table
    assert "data:image" not in text and "<svg" not in text
    # format= wins over the suffix.
    other = tb.export_summary(tmp_path / "summary.txt", experiment="cnn_sweep", format="md")
    assert other.read_text().startswith("# cnn\\_sweep")
    html = tb.export_summary(tmp_path / "page.md", experiment="cnn_sweep", format="html")
    assert html.read_text().startswith("<!doctype html>")


def test_choosing_runs_and_metrics(sweep: list[str], tmp_path: Path) -> None:
    path = tb.export_summary(tmp_path / "s.md", runs=sweep[:3], metrics=["val_acc", "loss"],
                             title="three runs")
    text = path.read_text()
    assert text.startswith("# three runs\n") and "3 runs" in text
    assert "Ranked by val\\_acc.max (higher is better)" in text
    html = tb.export_summary(tmp_path / "s.html", runs=sweep[:3], metrics=["loss.last"])
    data = json.loads(_data_block(html.read_text()))
    assert [c["metric"] for c in data["charts"]] == ["loss"]
    assert "ranked by loss.last" in Page(html.read_text()).words
    # where= narrows the experiment; the filter is named on the page.
    narrowed = tb.export_summary(tmp_path / "n.html", experiment="cnn_sweep",
                                 where="params.lr >= 1e-3").read_text()
    assert "4 runs" in Page(narrowed).words and "params.lr &gt;= 1e-3" in narrowed


def test_runs_without_metrics(tmp_path: Path) -> None:
    with tb.start_run("no metrics", params={"a": 1}):
        pass
    html = tb.export_summary(tmp_path / "s.html").read_text()
    assert "nothing is ranked" in html and "No metric curves" in html
    assert "trackbookVega=" not in html and len(html) < 100_000  # no chart, no vega bundle
    assert "nothing is ranked" in tb.export_summary(tmp_path / "s.md").read_text()


def test_bad_inputs_say_what_is_wrong(sweep: list[str], tmp_path: Path) -> None:
    with pytest.raises(ExportError, match=r"no runs to summarise: nothing matches experiment "
                                          r"'nope'.*cnn_sweep \(6 runs\)"):
        tb.export_summary(tmp_path / "s.html", experiment="nope")
    with pytest.raises(ExportError, match="nothing matches filter"):
        tb.export_summary(tmp_path / "s.html", where="params.lr > 100")
    with pytest.raises(tb.FilterError, match="position"):
        tb.export_summary(tmp_path / "s.html", where="params.lr >")
    with pytest.raises(tb.StoreNotFound, match="no trackbook store at"):
        tb.export_summary(tmp_path / "s.html", store=tmp_path / "missing.duckdb")
    with pytest.raises(ExportError, match=r"no metric 'nope'.*val/loss"):
        tb.export_summary(tmp_path / "s.html", metrics=["nope"])
    with pytest.raises(ExportError, match="format must be 'html' or 'md'"):
        tb.export_summary(tmp_path / "s.pdf", format="pdf")
    with pytest.raises(ExportError, match=r"the folder .*missing-folder does not exist"):
        tb.export_summary(tmp_path / "missing-folder" / "s.html")
    with pytest.raises(ExportError, match="is a folder; give a file name"):
        tb.export_summary(tmp_path)
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(ExportError, match="is not a folder"):
        tb.export_summary(tmp_path / "a-file" / "s.html")
    assert isinstance(ExportError("x"), tb.TrackbookError)  # the CLI and magics catch it
    written = [p.name for p in tmp_path.iterdir() if not p.name.startswith("trackbook.duckdb")]
    assert written == ["a-file"]  # no summary, no temporary file


def test_a_failed_write_leaves_nothing_behind(sweep: list[str], tmp_path: Path) -> None:
    target = tmp_path / "summary.html"
    target.write_text("the old summary")
    with pytest.raises(tb.FilterError):
        tb.export_summary(target, where="params.lr >")
    assert target.read_text() == "the old summary"
    tb.export_summary(target)
    assert target.read_text().startswith("<!doctype html>")
    assert oct(target.stat().st_mode & 0o777) == "0o644"  # readable by the teammate
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
    proc = Path("/proc/summary.html")  # a folder nobody, root included, can create files in
    if not Path("/proc/self").exists():
        pytest.skip("needs Linux's /proc")
    with pytest.raises(ExportError, match=r"cannot write /proc/summary.html"):
        tb.export_summary(proc)


def test_magic_export(sweep: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
                      ) -> None:
    from IPython import get_ipython
    from IPython.core.error import UsageError
    from IPython.testing.globalipapp import start_ipython

    start_ipython()
    ip = get_ipython()
    ip.run_line_magic("load_ext", "trackbook")
    target = tmp_path / "from-magic.html"
    written = ip.run_line_magic("trackbook", f'export {target} --where "params.seed = 1"')
    assert written == str(target) and f"summary written: {target}" in capsys.readouterr().out
    assert "3 runs" in Page(target.read_text()).words
    with pytest.raises(UsageError, match="%trackbook export: no runs to summarise"):
        ip.run_line_magic("trackbook", f"export {tmp_path / 'x.md'} --experiment nope")


def test_demo_report_writes_the_summary(tmp_path: Path, store_path: Path) -> None:
    """What `trackbook demo` prints after its notebook ran (here: runs shaped like its own)."""
    from trackbook import demo

    for alpha in (1e-4, 1e-2):
        for seed in range(2):
            with tb.start_run(f"alpha={alpha:g} seed={seed}", experiment="quickstart",
                              params={"alpha": alpha, "seed": seed}) as run:
                for epoch in range(5):
                    run.log(val_loss=alpha * 100 / (epoch + 1) + seed, val_acc=0.9, step=epoch)
    lines: list[str] = []
    demo.report(tmp_path, store_path, lines.append)
    summary = tmp_path / "summary.html"
    assert summary.is_file()
    assert any(str(summary) in line and "summary" in line for line in lines)
    assert "<title>trackbook demo: quickstart</title>" in summary.read_text()


def test_columns_round_trip_and_shrink() -> None:
    rows = [{"run_id": "a" * 16, "run": "x", "metric": "loss", "step": s, "time_s": s / 3,
             "wall_time": 1_700_000_000_000 + s, "value": 1 / (s + 1)} for s in range(100)]
    stored = summarycharts.by_column(rows)
    assert stored["tb_columns"] == 100 and "wall_time" not in stored["fields"]
    assert stored["fields"]["run"] == {"levels": ["x"], "codes": [0] * 100}
    assert stored["fields"]["value"][2] == 0.333333 and stored["fields"]["time_s"][1] == 0.33
    assert len(json.dumps(stored)) * 3 < len(json.dumps(rows))


@pytest.mark.slow
def test_100_runs_stay_under_5_mb(tmp_path: Path) -> None:
    """100 runs x 5 metrics x 1,000 points, a figure each: measured, under 5 MB."""
    import matplotlib.pyplot as plt

    for i in range(100):
        lr = 10 ** (-4 + 2 * (i % 10) / 9)
        with tb.start_run(f"run-{i:03d}", experiment="big",
                          params={"lr": lr, "seed": i // 10, "depth": i % 4},
                          tags={"owner": "ana"}, code="x = 1\n" * 30) as run:
            for step in range(1000):
                decay = math.exp(-step * lr * 5)
                run.log(loss=decay + (step % 7) * 1e-3, val_loss=decay * 1.1 + i * 1e-4,
                        acc=1 - decay / 2, val_acc=1 - decay / 1.8, grad=(step * i) % 13 / 13,
                        step=step)
            fig = _figure(f"run {i}")
            run.log_figure(fig, "curve")
            plt.close(fig)
            run.note(f"note {i}")
    tb.runs()  # ingest first: the export time below is the export alone
    started = time.perf_counter()
    path = tb.export_summary(tmp_path / "big.html")
    seconds = time.perf_counter() - started
    size = path.stat().st_size
    html = path.read_text()
    data = json.loads(_data_block(html))
    points = [c["spec"]["datasets"] for c in data["charts"]]
    n_points = [next(iter(d.values()))["tb_columns"] for d in points]
    print(f"\n100 runs x 5 metrics x 1,000 points: {size / 1e6:.2f} MB in {seconds:.1f} s; "
          f"points per chart {n_points}; thumbnails {html.count('<img ')}")
    assert size < 5_000_000
    assert len(data["charts"]) == 5 and all(n <= summarycharts.CURVE_BUDGET for n in n_points)
    assert "Curves show the best 20 of 100 runs" in html
    assert html.count('<details class="run"') == 100
