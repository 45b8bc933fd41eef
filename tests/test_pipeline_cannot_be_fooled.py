"""An adversarial contributor against the build: each trick planted in a tiny copy of the guide.

Every case must fail `mkdocs build --strict` (and the tests) with a message that names the page
and line or the snippet and line, and the cause; or, for state a snippet leaves behind, must not
reach any other snippet. One strict build reports every problem at once. These tests are the
specification of the isolated runner (guide_build/core/runner.py and snippet_server.py).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from test_guide_build import is_running
from tiny_guide import TinyGuide, block, pages_of

PLANTED = {
    "snippets/part/03_exits_early.py": "import os\nprint('leaving')\nos._exit(0)\nprint('never')\n",
    "snippets/part/04_hangs.py": "# guide: timeout=1\nprint('spinning')\nwhile True: pass  # one line: the stack dump can only name line 3\n",
    "snippets/part/05_syntax.py": "print('ok')\nvalue = (1,\n",
    "snippets/part/06_writes_a_file.py": "from pathlib import Path\nPath('weights.pt').write_bytes(b'0')\nprint(1)\n",
    "snippets/part/07_prints_megabytes.py": "print('x' * 5_000_000)\n",
    "snippets/part/08_killed.py": "import os, signal\nprint('bye')\nos.kill(os.getpid(), signal.SIGKILL)\n",
    "snippets/part/09_sections.py": (
        "# --8<-- [start:real]\nreal = 1\n# --8<-- [end:real]\nprint(real)\nassert real\n"
        "if real == 2:  # a branch this run does not take\n    assert real == 2  # witness: never-runs\n"
    ),
    "snippets/part/10_leaves_a_process.py": (
        "import os, subprocess, sys\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)'])\n"
        "open(os.environ['GUIDE_TEST_PID_FILE'], 'w').write(str(child.pid))\n"
        "os._exit(0)\n"
    ),
    **{
        f"snippets/part/{name}.py": (
            "# guide: ranks=2\n# guide: timeout=3\nimport os, signal\nimport torch\nimport torch.distributed as dist\n"
            "open(os.environ['GUIDE_TEST_RANK_PIDS'], 'a').write(f'{os.getpid()}\\n')\n"
            "dist.init_process_group('gloo')\n"  # line 7
            f"{trouble}\n"  # line 8: what rank 1 does
            "dist.all_reduce(torch.ones(1))\n"  # line 9
            "print('rank', dist.get_rank(), 'done')\n"
        )
        for name, trouble in [
            ("11_rank_raises", "if dist.get_rank() == 1: raise ValueError('rank 1 gives up')"),
            ("12_rank_killed", "if dist.get_rank() == 1: os.kill(os.getpid(), signal.SIGKILL)"),
            ("13_collective_hangs", "if dist.get_rank() == 1: dist.barrier()"),
        ]
    },
}
BROKEN_PAGE = "\n".join(
    [
        "# Broken",  # line 1
        "",
        *(block(snippet) for snippet in list(PLANTED)[:6]),  # lines 3-26: four lines each
        '```python exec="on" title="snippets/part/99_missing.py"',  # line 27
        '--8<-- "snippets/part/99_missing.py"',
        "```",
        "",
        '```python exec="on" title="snippets/part/09_sections.py"',  # line 31
        '--8<-- "snippets/part/09_sections.py:absent"',
        "```",
        "",
        '```python exec="on" title="snippets/part/09_sections.py"',  # line 35
        "print('this line is in no file')",
        "```",
        "",
        block("snippets/part/09_sections.py"),  # line 39
        'A space: **1** { data-claim="part/09_sections.py:real" } and a wrapped',  # line 43
        '**1**{ data-claim="part/09_sections.py:real"',  # line 44
        "} claim; single quotes are read: **2**{ data-claim='part/09_sections.py:real' }.",  # line 45
        '*A statement*{ data-witness="part/09_sections.py:gone" } whose assertion has no label.',  # line 46
        "",
        block("snippets/part/10_leaves_a_process.py"),  # line 48
        block("snippets/part/11_rank_raises.py"),  # line 52
        block("snippets/part/12_rank_killed.py"),  # line 56
        block("snippets/part/13_collective_hangs.py"),  # line 60
        '*A branch not taken*{ data-witness="part/09_sections.py:never-runs" } proves nothing.',  # line 64
    ]
)
EXPECTED = [
    "docs/part/broken.md:3: the example snippets/part/03_exits_early.py failed",
    "snippets/part/03_exits_early.py exited with status 0 before reaching the end of the file",
    "docs/part/broken.md:7: the example snippets/part/04_hangs.py failed",
    "snippets/part/04_hangs.py ran past its time limit of 1 s",
    'File "snippets/part/04_hangs.py", line 3',
    'File "snippets/part/05_syntax.py", line 2',
    "SyntaxError",
    "snippets/part/06_writes_a_file.py left files behind in its working directory: weights.pt",
    "snippets/part/07_prints_megabytes.py printed 5,000,001 bytes, more than the limit of 20,000",
    "snippets/part/08_killed.py was killed by signal SIGKILL",
    'docs/part/broken.md:28: the included file "snippets/part/99_missing.py" does not exist',
    'docs/part/broken.md:32: "snippets/part/09_sections.py" has no section "absent"',
    "docs/part/broken.md:35: the block titled snippets/part/09_sections.py shows code that is not in that file",
    "docs/part/broken.md:43: a claim that is not read",
    "docs/part/broken.md:44: a claim that is not read",
    "docs/part/broken.md:45: the page says '2' for snippets/part/09_sections.py:real, but the snippet computed 1",
    "docs/part/broken.md:46: the statement 'A statement' cites the assertion 'gone' of snippets/part/09_sections.py",
    "docs/part/broken.md:48: the example snippets/part/10_leaves_a_process.py failed",
    "docs/part/broken.md:52: the example snippets/part/11_rank_raises.py failed",
    "snippets/part/11_rank_raises.py (rank 1) failed:",
    'File "snippets/part/11_rank_raises.py", line 8',
    "ValueError: rank 1 gives up",
    "docs/part/broken.md:56: the example snippets/part/12_rank_killed.py failed",
    "snippets/part/12_rank_killed.py (rank 1) was killed by signal SIGKILL",
    "docs/part/broken.md:60: the example snippets/part/13_collective_hangs.py failed",
    # Both ranks wait for each other; whichever reaches its limit first ends, and the other one's
    # collective then fails: both are reported, each at its own line.
    "ran past its time limit of 3 s",
    'File "snippets/part/13_collective_hangs.py", line 9',  # rank 0, in the all_reduce rank 1 never joins
    'File "snippets/part/13_collective_hangs.py", line 8',  # rank 1, in its barrier
    "docs/part/broken.md:64: the statement 'A branch not taken' cites the assertion 'never-runs' at "
    "snippets/part/09_sections.py:7, which did not run when the snippet ran",
]


def broken_guide(root: Path) -> TinyGuide:
    """A tiny guide with every planted problem, on a page of its own."""
    guide = TinyGuide(root)
    for path, source in PLANTED.items():
        guide.write(path, source)
    guide.write("docs/part/broken.md", BROKEN_PAGE)
    config = guide.read("mkdocs.yml").replace(
        "      - Second: part/second.md\n", "      - Second: part/second.md\n      - Broken: part/broken.md\n"
    )
    guide.write("mkdocs.yml", config)
    return guide


@pytest.fixture(scope="module", autouse=True)
def broken_build(request, tmp_path_factory):
    """The strict build of the tiny guide with every planted problem, started in the background as
    this module begins: its hung snippets keep it waiting for seconds, which the module's other
    builds use. A thread reads its output and, the moment it ends, how long it took and which of
    the processes its snippets started are still running. The last test checks what it found (and
    when that test is not selected, nothing starts)."""
    reader = test_one_strict_build_reports_every_planted_problem_with_its_place.__name__
    if not any(item.name == reader for item in request.session.items):
        yield None
        return
    folder = tmp_path_factory.mktemp("broken-build")
    guide = broken_guide(folder / "broken-guide")
    pid_file, rank_pids = folder / "grandchild.pid", folder / "rank.pids"
    started = time.monotonic()
    build = guide.start_build(
        folder / "site", env={"GUIDE_TEST_PID_FILE": str(pid_file), "GUIDE_TEST_RANK_PIDS": str(rank_pids)}
    )

    def outcome() -> dict:
        stdout, stderr = build.communicate()
        seconds = time.monotonic() - started
        ranks = [int(pid) for pid in rank_pids.read_text().split()] if rank_pids.is_file() else []
        return {
            "returncode": build.returncode,
            "log": stdout + stderr,
            "seconds": seconds,
            "grandchild_running": pid_file.is_file() and is_running(int(pid_file.read_text())),
            "ranks": ranks,
            "ranks_running": [pid for pid in ranks if is_running(pid)],
        }

    with ThreadPoolExecutor(max_workers=1) as reading:
        ended = reading.submit(outcome)
        try:
            yield ended
        finally:
            build.kill()


def test_two_cold_builds_are_identical_and_a_leaky_snippet_changes_no_other_page(tmp_path):
    first_guide, second_guide = TinyGuide(tmp_path / "one"), TinyGuide(tmp_path / "two")
    with ThreadPoolExecutor(max_workers=2) as pool:  # two cold builds side by side
        builds = list(
            pool.map(
                lambda pair: pair[0].build(pair[1]),
                [(first_guide, tmp_path / "site-1"), (second_guide, tmp_path / "site-2")],
            )
        )
    assert [build.returncode for build in builds] == [0, 0]
    original = pages_of(tmp_path / "site-1")
    assert original == pages_of(tmp_path / "site-2"), "two cold builds of the same sources differ"
    first_page = original["part/first/index.html"].decode()
    assert "Not checked by this build: <code>big_endian</code> was not true" in first_page  # @if: marks

    snippet = "snippets/part/01_first.py"
    clean = first_guide.read(snippet)
    first_guide.write(
        snippet,
        clean
        + "import os, numpy, threading, time\nfrom torch import nn\n"
        + "torch.set_printoptions(precision=1)\nnumpy.set_printoptions(precision=1)\n"
        + "torch.set_default_dtype(torch.float64)\ntorch.autograd.set_detect_anomaly(True)\n"
        + "nn.modules.module.register_module_forward_hook(lambda *a: print('hooked'))\n"
        # a thread that keeps printing after the script ends (slowly: under the output limit)
        + "threading.Thread(target=lambda: [print('noise') or time.sleep(0.01) for _ in iter(int, 1)], daemon=True)"
        + ".start()\n"
        + "os.chdir('/')\n",
    )
    assert first_guide.build(tmp_path / "site-leaky").returncode == 0
    leaky = pages_of(tmp_path / "site-leaky")
    second_page = "part/second/index.html"
    assert leaky[second_page] == original[second_page], "a snippet's leftover state reached another page"

    first_guide.write(snippet, clean)
    assert first_guide.build(tmp_path / "site-reverted").returncode == 0
    assert pages_of(tmp_path / "site-reverted") == original, "reverting the snippet did not restore the site"


def test_serve_survives_a_hang_and_recovers_when_the_file_is_fixed(tmp_path):
    guide = TinyGuide(tmp_path / "guide")
    snippet = "snippets/part/02_second.py"
    good = guide.read(snippet)
    guide.write(snippet, "# guide: timeout=1\nwhile True:\n    pass\n")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [
        sys.executable,
        "-m",
        "mkdocs",
        "serve",
        "--dirty",
        "--no-strict",
        "--livereload",
        "-a",
        f"127.0.0.1:{port}",
    ]
    environment = {**os.environ, "NO_MKDOCS_2_WARNING": "1", **guide.own_caches()}
    log_path = tmp_path / "serve.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            command, cwd=guide.root, stdout=log, stderr=subprocess.STDOUT, env=environment, start_new_session=True
        )
    try:
        wait_for(lambda: "Serving on" in log_path.read_text(), 120, log_path)
        assert "ran past its time limit of 1 s" in log_path.read_text()
        guide.write(snippet, good)
        url = f"http://127.0.0.1:{port}/guide/part/second/"
        wait_for(lambda: "tensor([[0.0000" in fetch(url), 120, log_path)
        notebook = f"http://127.0.0.1:{port}/guide/notebooks/part/second/second.ipynb"
        assert "tensor([[0.0000" in fetch(notebook), "the page's notebook was not made again with the fixed run"
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def fetch(url: str) -> str:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.read().decode()
    except OSError:
        return ""


def wait_for(condition, seconds: float, log: Path) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.25)
    raise AssertionError(f"gave up after {seconds} s; the server's log:\n{log.read_text()[-4000:]}")


# Last in the module: it reads the build that the module's fixture started at its beginning.
def test_one_strict_build_reports_every_planted_problem_with_its_place(broken_build):
    build = broken_build.result(timeout=600)
    log = build["log"]
    assert build["returncode"] != 0
    missing = [message for message in EXPECTED if message not in log]
    assert missing == [], log[-6000:]
    assert "Traceback" not in log.split("Aborted")[0].replace("Traceback (most recent call last)", ""), log[-4000:]
    assert build["seconds"] < 120  # the hang was stopped, not waited out
    assert not build["grandchild_running"], "a process the failed snippet started was left running"
    assert len(build["ranks"]) == 6, "two ranks of each distributed snippet, run once: the notebook reuses the failure"
    assert build["ranks_running"] == [], "ranks left running after their snippet failed"
