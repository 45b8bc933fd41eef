"""Unit tests of the build glue in guide_build/: runner, cache, claims, includes, fence."""

import io
import json
import os
import re
import subprocess
import sys
import textwrap
import time
import warnings
from concurrent.futures import Future
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from conftest import ROOT

from guide_build.adapters import markdown_docs as includes
from guide_build.adapters import markdown_exec_fence as fence
from guide_build.core import cache, claims, page_source, runner, snippet_server, time_limit, witnesses


def is_running(pid: int) -> bool:
    """A process that exists and is not a zombie (killed, waiting only to be reaped by init)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def write(path, source):
    path.write_text(textwrap.dedent(source).lstrip(), encoding="utf-8")
    return path


# --- runner -------------------------------------------------------------------------------------


def test_run_captures_prints_writes_and_warnings(tmp_path):
    snippet = write(
        tmp_path / "demo.py",
        """
        import sys, warnings
        print("a", "b", sep="-")
        sys.stdout.write("written\\n")
        warnings.warn("careful")
        answer = 42
        """,
    )
    run = runner.run_snippet(snippet)
    assert run.output.startswith("a-b\nwritten\n")
    assert "UserWarning: careful" in run.output
    assert run.facts["answer"] == 42


def test_a_run_gets_the_files_of_its_folder_and_nothing_below_it(tmp_path):
    """Helper modules sit beside a snippet; a chapter's folder holds no folders. Copying a whole
    tree would copy the run's own temporary folder into itself for a snippet kept in /tmp."""
    write(tmp_path / "helper.py", "VALUE = 3\n")
    (tmp_path / "below").mkdir()
    (tmp_path / "below" / "data.txt").write_text("not needed", encoding="utf-8")
    snippet = write(
        tmp_path / "uses_helper.py",
        """
        import os
        import helper
        here = os.path.dirname(os.path.abspath(__file__))
        value, below = helper.VALUE, os.path.exists(os.path.join(here, "below"))
        """,
    )
    run = runner.run_snippet(snippet)
    assert run.facts["value"] == 3 and run.facts["below"] is False


def test_facts_keep_numbers_strings_shapes_and_scalar_tensors(tmp_path):
    snippet = write(
        tmp_path / "facts.py",
        """
        import torch
        count, ratio, name, flag = 3, 0.5, "x", True
        shape = torch.zeros(4, 3).shape
        grad = torch.tensor(192.0)
        big = torch.zeros(2)
        complex_scalar, complex_number = torch.tensor(1 + 2j), 1j  # no fact: JSON has no complex
        _private = 1
        print(count)
        """,
    )
    facts = runner.run_snippet(snippet).facts
    assert facts == {"count": 3, "ratio": 0.5, "name": "x", "flag": True, "shape": [4, 3], "grad": 192.0}


def test_failure_names_the_snippet_file_and_line(tmp_path):
    snippet = write(tmp_path / "broken.py", 'print("start")\nvalue = 1\nassert value == 2, "value is not 2"\n')
    with pytest.raises(runner.SnippetFailed) as failure:
        runner.run_snippet(snippet)
    assert f'File "{snippet}", line 3, in <module>' in failure.value.traceback_text
    assert "AssertionError: value is not 2" in failure.value.traceback_text
    assert "runpy" not in failure.value.traceback_text


def test_sys_exit_is_a_failure(tmp_path):
    with pytest.raises(runner.SnippetFailed):
        runner.run_snippet(write(tmp_path / "exits.py", "import sys\nsys.exit(0)\n"))


def test_cpu_run_hides_accelerators(tmp_path):
    snippet = write(
        tmp_path / "device.py",
        """
        import torch
        device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")
        name = str(device)
        print(name, torch.cuda.is_available())
        """,
    )
    assert runner.run_snippet(snippet, device="cpu").facts["name"] == "cpu"


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal on a machine without CUDA")
def test_cuda_run_refuses_without_cuda(tmp_path):
    with pytest.raises(runner.SnippetFailed, match="cuda"):
        runner.run_snippet(write(tmp_path / "any.py", "print(1)\n"), device="cuda")


def test_the_server_refuses_to_fork_once_it_has_initialised_cuda(tmp_path, monkeypatch):
    """A fork of a process that holds a CUDA context cannot use CUDA, and a "cpu" run could not
    hide it: the run fails saying why, and no child is started."""
    monkeypatch.setattr(snippet_server.torch.cuda, "is_initialized", lambda: True)
    snippet = write(tmp_path / "any.py", "print(1)\n")
    request = {"id": 7, "path": str(snippet), "device": "cpu", "timeout": 5, "output_limit": 1000}
    reading, writing = os.pipe()
    os.write(writing, (json.dumps(request) + "\n").encode())
    os.close(writing)
    answers = io.StringIO()
    snippet_server._serve(reading, answers, {})
    os.close(reading)
    answer = json.loads(answers.getvalue())
    assert answer["id"] == 7
    assert answer["failure"].startswith(f"{snippet} could not be started: the snippet server has initialised CUDA")


def test_unseeded_draws_vary_from_run_to_run_as_in_new_processes(tmp_path):
    """A fork inherits the server's generators: each run reseeds those that a new interpreter
    seeds from the OS, so an unseeded example varies in the build as it does for a reader."""
    draws = write(
        tmp_path / "draws.py",
        """
        import random
        import numpy as np
        import torch
        print(random.random(), np.random.rand(), torch.rand(1).item())
        """,
    )
    first, second = (runner.run_snippet(draws).output.split() for _ in range(2))
    new_process = [sys.executable, "-c", "import torch; print(torch.initial_seed())"]
    seed_of_a_new_process = int(subprocess.run(new_process, capture_output=True, text=True, check=True).stdout)
    torch_seeds_each_process = seed_of_a_new_process != torch.Generator().initial_seed()
    assert first[:2] != second[:2]  # Python's and NumPy's generators: seeded from the OS in every process
    assert (first[2] != second[2]) == torch_seeds_each_process  # torch's: on releases that do (2.13 does)


def test_what_a_snippet_changes_does_not_reach_the_next_one(tmp_path):
    leaky = write(
        tmp_path / "leaky.py",
        """
        import os, threading, time
        import numpy as np
        import torch
        from torch import nn
        torch.set_default_dtype(torch.float64)
        torch.manual_seed(123)
        np.set_printoptions(precision=1)
        torch.set_printoptions(precision=1)
        torch.autograd.set_detect_anomaly(True)
        nn.modules.module.register_module_forward_hook(lambda *args: print("hooked"))
        os.chdir("/")
        threading.Thread(target=lambda: [print("still here") or time.sleep(0.01) for _ in range(10**6)], daemon=True).start()
        print("changed")
        """,
    )
    clean = write(
        tmp_path / "clean.py",
        """
        import os
        import numpy as np
        import torch
        from torch import nn
        assert torch.get_default_dtype() == torch.float32
        assert not torch.is_anomaly_enabled()
        assert os.path.basename(os.getcwd()) == "root"
        nn.Linear(2, 2)(torch.ones(2))
        print(np.array([0.123456]), torch.tensor([0.123456]))
        """,
    )
    before = runner.run_snippet(clean).output
    runner.run_snippet(leaky)
    after = runner.run_snippet(clean).output
    assert after == before == "[0.123456] tensor([0.1235])\n"
    assert torch.get_default_dtype() == torch.float32 and not torch.is_anomaly_enabled()


def test_output_of_threads_and_child_processes_is_captured_in_order(tmp_path):
    snippet = write(
        tmp_path / "children.py",
        """
        import subprocess, sys, threading
        print("parent")
        subprocess.run([sys.executable, "-c", "print('child process')"], check=True)
        thread = threading.Thread(target=lambda: print("thread"))
        thread.start(); thread.join()
        print("parent again")
        """,
    )
    assert runner.run_snippet(snippet).output == "parent\nchild process\nthread\nparent again\n"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("import os\nprint('x')\nos._exit(0)\n", "exited with status 0 before reaching the end of the file"),
        ("# guide: timeout=1\nprint('spinning')\nwhile True:\n    pass\n", "ran past its time limit of 1 s"),
        ("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n", "was killed by signal SIGKILL"),
        ("open('out.bin', 'wb').write(b'x')\n", "left files behind in its working directory: out.bin"),
        ("print('x' * 30000)\n", "printed 30,001 bytes, more than the limit of 20,000"),
        ("x = (\n", "SyntaxError"),
        ("# guide: timeout=soon\nprint(1)\n", "unknown setting '# guide: timeout=soon'"),
    ],
    ids=["os-exit", "hang", "signal", "leftover-file", "too-much-output", "syntax-error", "bad-setting"],
)
def test_a_run_that_does_not_reach_its_end_cleanly_fails_with_the_cause(tmp_path, source, message):
    snippet = write(tmp_path / "bad.py", source)
    with pytest.raises(runner.SnippetFailed) as failure:
        runner.run_snippet(snippet)
    assert message in failure.value.traceback_text


def test_a_hung_snippet_is_reported_at_its_line_and_leaves_no_process(tmp_path):
    marker = tmp_path / "grandchild.pid"
    snippet = write(
        tmp_path / "hangs.py",
        f"""
        # guide: timeout=2
        import subprocess, sys
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        open({str(marker)!r}, "w").write(str(child.pid))
        child.wait()
        """,
    )
    with pytest.raises(runner.SnippetFailed) as failure:
        runner.run_snippet(snippet)
    assert f'File "{snippet}", line 5' in failure.value.traceback_text
    assert not is_running(int(marker.read_text()))


# A process started from a snippet that shares the snippet's one CPU, so that the snippet waits for it.
_SHARE_ONE_CPU = """
import os, time
os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # this thread, and the process started next
hog = os.fork()  # a copy of this process that only spins: no interpreter to start, nothing to wait for
while not hog: pass
started = time.monotonic()
"""


def test_the_time_limit_does_not_count_waiting_for_a_free_cpu(tmp_path):
    """2 s of the snippet's own work, on a CPU that another process keeps busy, takes about 4 s
    of wall time: past the wall-clock limit of 3 s, within a limit on the snippet's own time. (The
    second left over is for what else the clock counts: forking the hog, and waiting for it to end.)"""
    snippet = write(
        tmp_path / "shares_a_cpu.py",
        "# guide: timeout=3\n"
        + _SHARE_ONE_CPU
        + "spent = time.thread_time()\n"
        + "while time.thread_time() - spent < 2:\n    pass\n"
        + "os.kill(hog, 9); os.waitpid(hog, 0)\n"
        + "print('wall time past the limit:', time.monotonic() - started > 3)\n",
    )
    assert runner.run_snippet(snippet).output == "wall time past the limit: True\n"


def test_a_snippet_that_never_gets_a_cpu_is_still_stopped(tmp_path):
    """Waiting for a CPU stretches the limit at most MAX_STRETCH times: nothing runs forever."""
    snippet = write(
        tmp_path / "starved.py",
        "# guide: timeout=1\n" + _SHARE_ONE_CPU + "os.nice(19)\nwhile True: pass\n",
    )
    runner.run_snippet(write(tmp_path / "first.py", "print(1)\n"))  # the server is up: not timed below
    started = time.monotonic()
    with pytest.raises(runner.SnippetFailed) as failure:
        runner.run_snippet(snippet)
    assert "ran past its time limit of 1 s" in failure.value.traceback_text
    assert f'File "{snippet}", line 9' in failure.value.traceback_text
    assert failure.value.traceback_text.count("most recent call first") == 1  # the time limit's thread is not listed
    assert time.monotonic() - started < time_limit.MAX_STRETCH + 3


# A runner in miniature: a limit of 0.5 s for code compiled as snippet.py, which sleeps, and then
# the runner's own code, which sleeps too before it cancels the limit.
_LIMIT_OF_HALF_A_SECOND = """
import sys, time
from guide_build.core import time_limit
cancel = time_limit.start(0.5, sys.stderr, code_file="snippet.py")
exec(compile("import time\\ntime.sleep({snippet_sleeps})\\n", "snippet.py", "exec"))
time.sleep({runner_sleeps})
cancel()
print("cancelled")
"""


@pytest.mark.parametrize(
    ("snippet_sleeps", "runner_sleeps", "expected", "where"),
    [
        # the snippet's code still runs at its limit: its stacks are written and it ends at once
        (5, 0, r"Timeout \(0:00:00\.500000\)!", 'File "snippet.py", line 2 in <module>'),
        # its code ended just before the limit (it raised, say): it is left to report itself
        (0.3, 1.0, "cancelled", None),
        # its code ended but the runner never cancels: faulthandler's C thread ends it, about 2 s
        # later (armed for 2.5 s, or re-armed for what is left when waiting for a CPU stretched
        # the limit), under a header that is not the limit's own
        (0.3, 60, r"Timeout \((?!0:00:00\.500000\))0:00:0\d\.\d+\)!", 'File "<string>", line 6 in <module>'),
    ],
    ids=["still-running", "ended-in-time", "never-cancelled"],
)
def test_the_time_limit_stops_only_code_that_still_runs(snippet_sleeps, runner_sleeps, expected, where):
    """The header gives the interval that ran out: 0.5 s for the limit's own thread, the interval
    faulthandler's C thread was last armed with for its hard stop."""
    source = _LIMIT_OF_HALF_A_SECOND.format(snippet_sleeps=snippet_sleeps, runner_sleeps=runner_sleeps)
    started = time.monotonic()
    ran = subprocess.run([sys.executable, "-c", source], capture_output=True, text=True, timeout=60, cwd=ROOT)
    took = time.monotonic() - started
    assert re.search(expected, ran.stdout + ran.stderr)
    if "<string>" in (where or ""):  # the hard stop: never before the limit and its delay have passed
        assert 0.5 + time_limit.HARD_STOP_AFTER <= took < 0.5 * time_limit.MAX_STRETCH + time_limit.HARD_STOP_AFTER + 10
    assert ran.returncode == (0 if expected == "cancelled" else 1)
    if where:
        assert ran.stderr.count("Timeout (") == 1
        assert where in ran.stderr


def test_a_snippet_that_switches_off_faulthandler_is_still_stopped_at_its_line(tmp_path):
    """The limit's own thread stops it: the snippet keeps cancelling faulthandler's hard stop."""
    snippet = write(
        tmp_path / "no_hard_stop.py",
        "# guide: timeout=1\nimport faulthandler\nwhile True:\n    faulthandler.cancel_dump_traceback_later()\n",
    )
    runner.run_snippet(write(tmp_path / "first.py", "print(1)\n"))  # the server is up: not timed below
    started = time.monotonic()
    with pytest.raises(runner.SnippetFailed) as failure:
        runner.run_snippet(snippet)
    # Well before the server's backstop, whose report would read the same.
    assert time.monotonic() - started < time_limit.MAX_STRETCH + snippet_server._BACKSTOP / 2
    assert "ran past its time limit of 1 s" in failure.value.traceback_text
    assert re.search(rf'File "{re.escape(str(snippet))}", line [34]', failure.value.traceback_text)


def test_edited_helper_module_is_read_again(tmp_path):
    helper = write(tmp_path / "helper_mod.py", "VALUE = 1\n")
    snippet = write(tmp_path / "uses_helper.py", "from helper_mod import VALUE\nprint(VALUE)\n")
    assert runner.run_snippet(snippet).output == "1\n"
    write(helper, "VALUE = 2\n")
    assert runner.run_snippet(snippet).output == "2\n"


def test_warnings_show_as_in_a_fresh_process_each_run(tmp_path):
    snippet = write(tmp_path / "warns.py", 'import warnings\nwarnings.warn("once per run")\nprint("ok")\n')
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the host's filters must not hide the snippet's warnings
        outputs = [runner.run_snippet(snippet).output for _ in range(2)]
    assert all("once per run" in output for output in outputs)


# --- cache --------------------------------------------------------------------------------------


def test_cache_reuses_a_run_until_the_snippet_or_its_helper_changes(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.CACHE_DIR_ENV, str(tmp_path / "cache"))
    counter = tmp_path / "runs.txt"
    helper = write(tmp_path / "helper_two.py", "FACTOR = 2\n")
    snippet = write(
        tmp_path / "counted.py",
        f"""
        from pathlib import Path
        from helper_two import FACTOR
        counter = Path({str(counter)!r})
        counter.write_text(counter.read_text() + "x" if counter.exists() else "x")
        print(21 * FACTOR)
        """,
    )
    first = cache.cached_run(snippet)
    again = cache.cached_run(snippet)
    assert first == again and counter.read_text() == "x"
    write(helper, "FACTOR = 3\n")
    assert cache.cached_run(snippet).output == "63\n" and counter.read_text() == "xx"


def test_a_build_starts_the_examples_that_declare_a_longer_time_limit_first(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.CACHE_DIR_ENV, str(tmp_path / "cache"))
    quick = [write(tmp_path / f"{name}.py", "print(1)\n") for name in ("a", "b")]
    slow = write(tmp_path / "slow.py", "# guide: timeout=30\nprint(2)\n")
    submitted = []

    def submit(function, path, *arguments):
        submitted.append(path)
        done = Future()
        done.set_result(None)
        return done

    monkeypatch.setattr(cache._pool, "submit", submit)
    cache.start_runs([quick[0], slow, quick[1]])
    assert submitted == [slow, *quick]


def test_cache_key_depends_on_the_device(tmp_path):
    snippet = write(tmp_path / "plain.py", "print(1)\n")
    assert cache.cache_key(snippet, "cpu") != cache.cache_key(snippet, "cuda")


def test_failed_runs_are_not_cached(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.CACHE_DIR_ENV, str(tmp_path / "cache"))
    snippet = write(tmp_path / "fails.py", "raise ValueError('no')\n")
    with pytest.raises(runner.SnippetFailed):
        cache.cached_run(snippet)
    assert not list((tmp_path / "cache").glob("*.json"))


def test_a_confirmed_run_stands_in_for_a_run_until_a_fresh_one_disagrees(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.CACHE_DIR_ENV, str(tmp_path / "cache"))
    snippet = write(tmp_path / "steady.py", "print(6 * 7)\n")
    assert cache.confirmed_run(snippet, "cpu") is None  # not in the cache
    shown = cache.cached_run(snippet)
    assert cache.confirmed_run(snippet, "cpu") is None  # in the cache, not confirmed
    assert cache.confirm(snippet, runner.run_snippet(snippet, device="cpu"))
    assert cache.confirmed_run(snippet, "cpu") == runner.SnippetRun(**{**vars(shown), "device": "cpu"})
    assert cache.confirmed_run(snippet, "cuda") is None  # confirmed on the CPU only
    entry = tmp_path / "cache" / f"{cache.cached_key(snippet)}.json"
    confirmed_text = entry.read_text()
    rewritten = json.loads(confirmed_text)
    rewritten["output"] = "41\n"  # (a text replace of "42" could also hit the timing's digits)
    entry.write_text(json.dumps(rewritten))  # rewritten after it was confirmed
    assert cache.confirmed_run(snippet, "cpu") is None
    entry.write_text(confirmed_text)
    assert cache.confirmed_run(snippet, "cpu") is not None
    differing = runner.SnippetRun(str(snippet), "cpu", "43\n")
    assert not cache.confirm(snippet, differing)
    assert cache.confirmed_run(snippet, "cpu") is None
    write(snippet, "print(6 * 7)  # edited\n")  # a new version: a new key, not confirmed
    cache.cached_run(snippet)
    assert cache.confirmed_run(snippet, "cpu") is None


def test_a_second_run_confirms_on_the_facts_the_pages_cite(tmp_path, monkeypatch):
    """A value no page shows (a temporary folder's name) may differ between runs; a cited one may not."""
    monkeypatch.setenv(cache.CACHE_DIR_ENV, str(tmp_path / "cache"))
    snippet = write(tmp_path / "folder.py", "import tempfile\nfolder = tempfile.mkdtemp()\ntotal = 15\nprint(total)\n")
    cache.cached_run(snippet)
    second = runner.run_snippet(snippet, device="cpu")
    assert not cache.confirm(snippet, second)  # every fact compared: the folders differ
    assert cache.confirm(snippet, second, facts={"total"})
    assert cache.confirmed_run(snippet, "cpu") is not None
    assert not cache.confirm(snippet, replace(second, facts={**second.facts, "total": 16}), facts={"total"})
    assert cache.confirmed_run(snippet, "cpu") is None


# --- claims -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value", "expected"),
    [
        ("115", 115, True),
        ("1,024", 1024, True),
        ("116", 115, False),
        ("192", 192.0, True),
        ("2.808", 2.8080000877, True),
        ("2.81", 2.808, True),
        ("2.808", 2.81, False),
        ("0.33", 1 / 3, True),
        ("(4, 3)", [4, 3], True),
        ("torch.Size([4, 3])", [4, 3], True),
        ("(3, 4)", [4, 3], False),
        ("True", True, True),
        ("same device", "Expected all tensors to be on the same device, but", True),
        ("other device", "Expected all tensors to be on the same device", False),
        ("abc", 3, False),
    ],
)
def test_claim_agreement(text, value, expected):
    assert claims.agrees(text, value) is expected


def test_find_claims_reads_bold_and_code_claims_with_their_lines():
    page = 'Intro.\n\nIt has **115**{ data-claim="a/01_x.py:total" } and `cpu`{ data-claim="a/02_y.py:name" }.\n'
    found = claims.find_claims(page, "docs/p.md")
    assert [(c.line, c.text, c.snippet_path, c.name) for c in found] == [
        (3, "115", "snippets/a/01_x.py", "total"),
        (3, "cpu", "snippets/a/02_y.py", "name"),
    ]


def test_claims_inside_fenced_code_are_examples_not_claims():
    page = 'Real **1**{ data-claim="a/01_x.py:n" }.\n````markdown\n```python\n**2**{ data-claim="a/01_x.py:n" }\n```\n````\n'
    assert [claim.text for claim in claims.find_claims(page, "docs/p.md")] == ["1"]


def test_a_figure_s_alt_text_is_prose_whose_claims_are_read_and_shown_plain():
    alt = "Falls to **3e-5**{ data-claim='a/01_x.py:low' } by layer 30"
    page = f'Text.\n```python exec="on" alt="{alt}"\n**2**{{ data-claim="a/01_x.py:n" }}\n```\n'
    assert [(claim.line, claim.text, claim.name) for claim in claims.find_claims(page, "docs/p.md")] == [
        (2, "3e-5", "low")
    ]
    assert witnesses.unread_markup(page, "docs/p.md") == []
    assert (
        witnesses.alt_text_heard("Falls to `3e-5`{ data-claim='a/01_x.py:low' } by layer 30")
        == "Falls to 3e-5 by layer 30"
    )
    single = page.replace(f'alt="{alt}"', f"alt='{alt.replace(chr(39), chr(34))}'")  # alt='...', claim in "..."
    assert [claim.text for claim in claims.find_claims(single, "docs/p.md")] == ["3e-5"]
    for broken in (
        page.replace("'a/01_x.py:low'", '"a/01_x.py:low"'),  # double quotes end the alt text early
        page.replace("Falls to", 'Falls "fast" to'),  # and so does any double quote before the claim
    ):
        assert [problem.split(": a ")[0] for problem in witnesses.unread_markup(broken, "docs/p.md")] == ["docs/p.md:2"]
    not_run = page.replace('```python exec="on"', "```text")  # an alt on a block that does not run is no claim
    assert claims.find_claims(not_run, "docs/p.md") == []
    tilde = page.replace('```python exec="on"', "~~~python exec='on'").replace("\n```\n", "\n~~~\n")
    assert [claim.text for claim in claims.find_claims(tilde, "docs/p.md")] == ["3e-5"]  # markdown-exec runs it too
    two_alts = page.replace('exec="on"', 'exec="on" alt="A figure"')
    assert any("more than one alt" in problem for problem in witnesses.unread_markup(two_alts, "docs/p.md"))
    braces = "**{3}**{ data-claim='a/01_x.py:n' } and `{1: 2}`{ data-claim='a/01_x.py:d' }"
    assert witnesses.checked_text_as_plain_text(braces) == "{3} and `{1: 2}`"


def test_claim_error_names_page_line_and_values():
    claim = claims.Claim("docs/p.md", 7, "115", "a/01_x.py", "total")
    assert claims.claim_error(claim, {"total": 115}) is None
    assert claims.claim_error(claim, {"total": 124}) == (
        "docs/p.md:7: the page says '115' for snippets/a/01_x.py:total, but the snippet computed 124"
    )
    assert "has no such number" in claims.claim_error(claim, {"other": 1})


# --- includes and excerpts ----------------------------------------------------------------------

SECTIONED = """
import torch
# --8<-- [start:part]
x = torch.ones(2)
# --8<-- [end:part]
print(x)
"""


def test_includes_expand_and_map_back_to_page_lines(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "snippets" / "c").mkdir(parents=True)
    write(tmp_path / "snippets" / "c" / "01_s.py", SECTIONED)
    (tmp_path / "mkdocs.yml").write_text(
        'markdown_extensions:\n  - pymdownx.snippets:\n      base_path: ["."]\n      check_paths: true\n'
    )
    page = '# T\n```python\n--8<-- "snippets/c/01_s.py:part"\n```\n```python\n--8<-- "snippets/c/01_s.py"\n```\n'
    expanded, origins, included_lines = includes.expand_includes(page, tmp_path / "mkdocs.yml")
    lines = expanded.split("\n")
    assert lines[2] == "x = torch.ones(2)" and origins[2] == 2
    assert included_lines == {2, 5, 6, 7, 8}
    assert "--8<--" not in expanded
    assert lines[5:8] == ["import torch", "x = torch.ones(2)", "print(x)"]
    assert origins[5:8] == [5, 5, 5] and origins[lines.index("```", 5)] == 6


def test_excerpt_detection(tmp_path):
    snippet = write(tmp_path / "01_s.py", SECTIONED)
    whole = "\n".join(page_source.displayed_lines(snippet))
    assert not fence._is_excerpt(whole, snippet)
    assert fence._is_excerpt("x = torch.ones(2)", snippet)
    assert fence._shows_code_from("x = torch.ones(2)", snippet)
    assert not fence._shows_code_from("y = 3", snippet)


def test_material_blocks_are_opened_so_their_code_is_tested():
    page = '1. Question\n\n    ??? example "Solution"\n        ```python\n        print(1)\n        ```\n\nAfter.\n'
    unwrapped = page_source.unwrap_material_blocks(page)
    assert unwrapped.split("\n") == [
        "1. Question",
        "",
        "",
        "    ```python",
        "    print(1)",
        "    ```",
        "",
        "After.",
        "",
    ]


# --- hooks --------------------------------------------------------------------------------------


def test_dirty_rebuild_redoes_a_page_whose_snippet_changed(tmp_path, monkeypatch):
    from types import SimpleNamespace

    from guide_build.adapters import mkdocs_hooks as hooks

    monkeypatch.chdir(tmp_path)
    (tmp_path / "snippets" / "c").mkdir(parents=True)
    snippet = write(tmp_path / "snippets" / "c" / "01_s.py", "print(1)\n")
    page_source = tmp_path / "docs" / "p.md"
    page_source.parent.mkdir()
    page_source.write_text('```python exec="on" title="snippets/c/01_s.py"\n--8<-- "snippets/c/01_s.py"\n```\n')
    built = tmp_path / "site" / "p" / "index.html"
    built.parent.mkdir(parents=True)
    built.write_text("<p>old</p>")
    page = SimpleNamespace(src_uri="p.md", abs_src_path=str(page_source), abs_dest_path=str(built))
    os.utime(snippet, (1, 1))  # the snippet is older than the built page: keep it
    hooks._forget_if_snippets_changed(page, config={})
    assert built.is_file()
    os.utime(snippet, None)  # the snippet was edited after the page was built: rebuild it
    os.utime(built, (2, 2))
    hooks._forget_if_snippets_changed(page, config={})
    assert not built.exists()


def test_a_runner_error_in_a_block_is_reported_with_the_page_line(tmp_path, monkeypatch, caplog):
    """pymdownx.superfences hides what a formatter raises: an error of the runner or the cache
    (not of the snippet) must still reach the log, which fails a strict build."""
    import markdown

    monkeypatch.chdir(tmp_path)
    (tmp_path / "snippets" / "c").mkdir(parents=True)
    write(tmp_path / "snippets" / "c" / "01_s.py", "print(1)\n")

    def broken_cache(path):
        raise OSError("No space left on device")

    monkeypatch.setattr(fence, "cached_run", broken_cache)
    monkeypatch.setattr(
        fence, "current_page", fence.PageRecord(page="docs/p.md", block_lines={"snippets/c/01_s.py": [7]})
    )
    fence.format_python("print(1)\n", "python", "", {"extra": {"title": "snippets/c/01_s.py"}}, markdown.Markdown())
    assert "docs/p.md:7: snippets/c/01_s.py could not be run: OSError: No space left on device" in caplog.text


def test_a_notebook_is_made_again_when_its_page_a_file_it_shows_or_a_run_changes(tmp_path, monkeypatch):
    from guide_build.core import notebooks

    monkeypatch.chdir(tmp_path)
    (tmp_path / "snippets" / "c").mkdir(parents=True)
    snippet = write(tmp_path / "snippets" / "c" / "01_s.py", "# --8<-- [start:a]\nx = 1\n# --8<-- [end:a]\nprint(x)\n")
    page = '```python exec="on" title="snippets/c/01_s.py"\n--8<-- "snippets/c/01_s.py"\n```\n'
    runs = {"snippets/c/01_s.py": "key-1"}

    def digest(markdown=page):
        return notebooks.inputs_digest(markdown, "https://example.org/", "torch 2 on CPU", runs.get)

    first = digest()
    assert digest() == first
    assert digest(page + "More prose.\n") != first
    assert digest(page + '--8<-- "snippets/c/01_s.py:a"\n') != first
    runs["snippets/c/01_s.py"] = None  # its run failed, or is not in the cache yet
    assert digest() != first
    runs["snippets/c/01_s.py"] = "key-1"
    snippet.write_text(snippet.read_text() + "# an edit that changes what the cell shows\n")
    assert digest() != first


def test_a_notebook_saves_the_helpers_its_examples_import_from_another_page(tmp_path, monkeypatch):
    """A page whose examples import a helper that another page shows: its notebook still runs
    alone, because a cell saves the helper first (and its digest follows the helper's text)."""
    from guide_build.core import notebooks

    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "snippets" / "c"
    folder.mkdir(parents=True)
    write(folder / "deep.py", "VALUE = 2\n")
    helper = write(folder / "helper.py", "from deep import VALUE\n")
    write(folder / "01_uses.py", "import os\nfrom helper import VALUE\nprint(VALUE)\n")
    page = '```python exec="on" title="snippets/c/01_uses.py"\n--8<-- "snippets/c/01_uses.py"\n```\n'
    notebook = notebooks.notebook_for_page(page, "p.md", "https://example.org/", lambda path: None, "torch")
    code = [cell.source for cell in notebook.cells if cell.cell_type == "code"]
    assert code == ["%%writefile deep.py\nVALUE = 2", "%%writefile helper.py\nfrom deep import VALUE", code[-1]]
    assert code[-1].startswith("import os")
    before = notebooks.inputs_digest(page, "https://example.org/", "torch", lambda path: None)
    helper.write_text("from deep import VALUE  # edited\n")
    assert notebooks.inputs_digest(page, "https://example.org/", "torch", lambda path: None) != before


def test_prose_after_a_code_cell_in_a_solution_is_not_shown_as_code(tmp_path, monkeypatch):
    """A solution's prose after its example starts a markdown cell of its own: there it begins at
    the margin (indented, Jupyter would show it as code), and the next question is a list item."""
    from guide_build.core import notebooks

    monkeypatch.chdir(tmp_path)
    (tmp_path / "snippets" / "c").mkdir(parents=True)
    write(tmp_path / "snippets" / "c" / "01_s.py", "print(1)\n")
    page = (
        '1. A question?\n\n    ??? example "Solution"\n        The first part.\n\n'
        '        ```python exec="on" title="snippets/c/01_s.py"\n        --8<-- "snippets/c/01_s.py"\n'
        "        ```\n\n        The last part, with a list:\n\n        - one\n          line more\n\n"
        "2. Another question?\n"
    )
    notebook = notebooks.notebook_for_page(page, "p.md", "https://example.org/", lambda path: None, "torch")
    kinds = [cell.cell_type for cell in notebook.cells[1:]]
    assert kinds == ["markdown", "code", "markdown"]
    assert notebook.cells[1].source == "1. A question?\n\n    **Solution**\n    The first part."
    last = "The last part, with a list:\n\n- one\n  line more\n\n2. Another question?"
    assert notebook.cells[3].source == last


def test_home_page_table_is_rebuilt_when_its_counts_change(tmp_path, monkeypatch):
    from types import SimpleNamespace

    from guide_build.adapters import mkdocs_hooks as hooks
    from guide_build.core import inventory

    monkeypatch.chdir(tmp_path)
    (tmp_path / "snippets").mkdir()
    docs = tmp_path / "docs"
    docs.mkdir()
    home = docs / "index.md"
    home.write_text(f"# Home\n\n{inventory.MARKER}\n")
    chapter = docs / "chapter.md"
    chapter.write_text(
        '# Chapter\n\n```python exec="on" title="snippets/c/01_s.py"\n--8<-- "snippets/c/01_s.py"\n```\n'
    )
    (tmp_path / "snippets" / "c").mkdir()
    write(tmp_path / "snippets" / "c" / "01_s.py", "assert True\n")
    config = {"nav": [{"Home": "index.md"}, {"Chapter": "chapter.md"}], "docs_dir": str(docs)}
    built = tmp_path / "site" / "index.html"
    built.parent.mkdir()
    built.write_text("<p>old</p>")
    page = SimpleNamespace(src_uri="index.md", abs_src_path=str(home), abs_dest_path=str(built))
    monkeypatch.setitem(inventory.shown, "index.md", hooks._inventory_table(config))
    chapter.write_text(chapter.read_text() + "\nMore prose, no new claim.\n")
    hooks._forget_if_snippets_changed(page, config)
    assert built.is_file()  # the counts are the same: keep it
    write(tmp_path / "snippets" / "c" / "01_s.py", "assert True\nassert 1 == 1\n")
    hooks._forget_if_snippets_changed(page, config)
    assert not built.exists()  # one more assertion in a snippet: the table changes


# --- inventory ----------------------------------------------------------------------------------

INVENTORY_PAGE = """
# A page

The value is **1**{ data-claim="c/01_s.py:x" }.

```python exec="on" title="snippets/c/01_s.py"
--8<-- "snippets/c/01_s.py:part"
```

```python exec="on" title="snippets/c/01_s.py"
--8<-- "snippets/c/01_s.py"
```

```python exec="on" title="snippets/c/02_exercise_e.py"
--8<-- "snippets/c/02_exercise_e.py"
```

````markdown
;--8<-- "snippets/c/01_s.py"
````
"""


def test_inventory_counts_whole_files_claims_assertions_and_exercises(tmp_path, monkeypatch):
    from guide_build.core import inventory

    monkeypatch.chdir(tmp_path)
    (tmp_path / "snippets" / "c").mkdir(parents=True)
    write(tmp_path / "snippets" / "c" / "01_s.py", SECTIONED + "assert x.sum() == 2\nassert True\n")
    write(tmp_path / "snippets" / "c" / "02_exercise_e.py", "assert 1 + 1 == 2\n")
    counts = inventory.count_page("p.md", INVENTORY_PAGE)
    assert (counts.title, counts.examples, counts.claims, counts.assertions, counts.exercises) == ("A page", 2, 1, 3, 1)
    assert counts.witnessed == 0
    assert inventory.count_page("p.md", INVENTORY_PAGE, title="From the nav").title == "From the nav"


def test_inventory_follows_the_nav_and_totals_pages_with_examples():
    from guide_build.core import inventory

    nav = [{"Home": "index.md"}, {"Part": [{"A": "a/x.md"}, "a/y.md"]}, {"Elsewhere": "https://example.com/"}]
    assert list(inventory.nav_pages(nav)) == [("Home", "index.md"), ("A", "a/x.md"), (None, "a/y.md")]
    rows = [
        inventory.PageCounts("A", "a/x.md", examples=2, claims=5, witnessed=3, assertions=7, exercises=1),
        inventory.PageCounts("B", "a/y.md", examples=0, claims=0, witnessed=0, assertions=0, exercises=0),
        inventory.PageCounts("C", "a/z.md", examples=1, claims=0, witnessed=1, assertions=2, exercises=0),
    ]
    lines = inventory.table(rows).split("\n")
    assert lines[2:] == [
        "| [A](a/x.md) | 2 | 5 | 3 | 7 | 1 |",
        "| [C](a/z.md) | 1 | 0 | 1 | 2 | 0 |",
        "| **All pages** | **3** | **5** | **4** | **9** | **1** |",
    ]


def test_a_notebook_kept_in_docs_fails_the_build(tmp_path, caplog):
    from mkdocs.structure.files import File, Files

    from guide_build.adapters import mkdocs_hooks as hooks

    def files(*names):
        return Files(
            [
                File(name, src_dir=str(tmp_path), dest_dir=str(tmp_path / "site"), use_directory_urls=True)
                for name in names
            ]
        )

    hooks._refuse_hand_written_notebooks(files("index.md", "chapter/page.md"))
    assert caplog.records == []
    hooks._refuse_hand_written_notebooks(files("index.md", "chapter/old.ipynb"))
    assert [record.getMessage() for record in caplog.records] == [
        "docs/chapter/old.ipynb: notebooks are generated from the pages; remove this one"
    ]
    assert caplog.records[0].levelname == "WARNING"  # which mkdocs build --strict turns into a failure


# --- witnesses and markers ----------------------------------------------------------------------

WITNESSED_SNIPPET = """
import torch
weight = torch.ones(2, requires_grad=True)
assert weight.grad is None  # witness: no-grad-yet
total = 3
assert (
    total == 3
)  # witness: total-is-three
# witness: not-on-an-assert
"""


@pytest.fixture
def witnessed_snippet(tmp_path, monkeypatch):
    """A folder holding snippets/c/01_w.py (WITNESSED_SNIPPET), as the working directory."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "snippets" / "c").mkdir(parents=True)
    return write(tmp_path / "snippets" / "c" / "01_w.py", WITNESSED_SNIPPET)


def test_witnesses_are_read_from_emphasis_and_resolved_to_labelled_assertions(witnessed_snippet):

    page = (
        "Before any backward pass *the gradient\nis `None`*{ data-witness='c/01_w.py:no-grad-yet' }; "
        '*three*{ data-witness="c/01_w.py:total-is-three" }, *gone*{ data-witness="c/01_w.py:renamed" }, '
        '*comment*{ data-witness="c/01_w.py:not-on-an-assert" }.\n'
    )
    found = witnesses.find_witnesses(page, "docs/p.md")
    assert [(w.line, w.text, w.label) for w in found] == [
        (1, "the gradient is `None`", "no-grad-yet"),
        (2, "three", "total-is-three"),
        (2, "gone", "renamed"),
        (2, "comment", "not-on-an-assert"),
    ]
    errors = [witnesses.witness_error(w) for w in found]
    assert errors[:2] == [None, None]
    assert "has no assertion with that label (it has: no-grad-yet, not-on-an-assert, total-is-three)" in errors[2]
    assert "is not on an assert statement" in errors[3]
    assert witnesses.labelled_assertions("snippets/c/01_w.py")["total-is-three"].line == 5


def test_a_label_on_two_assertions_is_reported_with_both_lines(tmp_path, monkeypatch):
    """A run records one line per label as run, so a second assertion with the label (another
    device's branch, say) would share the first one's check mark without ever running."""

    monkeypatch.chdir(tmp_path)
    (tmp_path / "snippets" / "c").mkdir(parents=True)
    write(
        tmp_path / "snippets" / "c" / "01_twice.py",
        """
        import torch
        on_cuda = torch.cuda.is_available()
        assert 1 + 1 == 2  # witness: sums
        if on_cuda:
            assert 2 + 2 == 4  # witness: sums
        """,
    )
    [witness] = witnesses.find_witnesses('*sums*{ data-witness="c/01_twice.py:sums" }\n', "docs/p.md")
    assert "is on more than one assertion of snippets/c/01_twice.py (lines 3, 5)" in witnesses.witness_error(witness)


def test_markers_turn_claims_and_witnesses_into_plain_text_with_a_note(witnessed_snippet):
    from guide_build.core import markers

    html = (
        '<p>It is <strong data-claim="c/01_w.py:total">3</strong> and '
        '<em data-witness="c/01_w.py:no-grad-yet">the gradient is <code>None</code></em>; '
        '<em data-witness="c/01_w.py:total-is-three">a total of <code data-claim="c/01_w.py:total">3</code></em>.</p>'
    )
    rendered = markers.render_markers(html, "https://example.org/repo")
    assert "data-claim" not in rendered and "data-witness" not in rendered
    assert "<strong" not in rendered and "<em" not in rendered
    assert rendered.count('class="check-mark"') == 4 and rendered.count("popover") == 8
    assert "computed by line 4 of <code>snippets/c/01_w.py</code>" in rendered
    assert "asserted by line 3 of <code>snippets/c/01_w.py</code>" in rendered
    assert 'href="#example-c-01-w"' in rendered and "blob/main/snippets/c/01_w.py#L3" in rendered


def test_markers_name_a_claim_s_rank_and_say_where_a_release_mark_was_checked(witnessed_snippet, monkeypatch):
    from guide_build.core import markers, releases

    html = (
        '<strong data-claim="c/01_w.py:total@rank1">3</strong> '
        '<strong data-claim="c/01_w.py:total@2.13">3</strong> '
        '<em data-witness="c/01_w.py:no-grad-yet@2.13+">no gradient yet</em>'
    )
    monkeypatch.setattr(releases, "running_release", lambda: (2, 13))
    pinned = markers.render_markers(html, "https://example.org/repo")
    assert "<code>total</code> on rank 1, computed by line 4 of" in pinned and "#L0" not in pinned
    assert pinned.count(">✓<") == 3 and "(torch 2.13's value)" in pinned and "(true from torch 2.13 on)" in pinned
    monkeypatch.setattr(releases, "running_release", lambda: (2, 11))  # a GPU machine's older torch
    older = markers.render_markers(html, "https://example.org/repo")
    assert older.count(">○<") == 2 and older.count("Not checked by this build, which ran torch 2.11") == 2
    monkeypatch.setattr(releases, "running_release", lambda: (2, 14))  # newer: the statement holds
    newer = markers.render_markers(html, "https://example.org/repo")
    assert newer.count(">✓<") == 2 and newer.count(">○<") == 1 and "(true from torch 2.13 on)" in newer


def test_markers_say_whether_the_machine_met_a_statement_s_condition(witnessed_snippet):
    from guide_build.core import markers

    html = '<em data-witness="c/01_w.py:no-grad-yet@if:has_avx2">no gradient yet</em>'
    held = markers.render_markers(html, "https://example.org/repo", {"snippets/c/01_w.py": {"has_avx2": True}})
    assert ">✓<" in held and "on a machine where <code>has_avx2</code> is true" in held
    skipped = markers.render_markers(html, "https://example.org/repo", {"snippets/c/01_w.py": {"has_avx2": False}})
    assert ">○<" in skipped and "Not checked by this build: <code>has_avx2</code> was not true" in skipped
    assert "asserted by line 3 of" in skipped  # the label is read without its mark


def test_a_build_with_a_torch_newer_than_the_pin_warns(monkeypatch, caplog):
    from types import SimpleNamespace

    from guide_build.adapters import mkdocs_hooks
    from guide_build.core import releases

    monkeypatch.setattr(releases, "running_release", lambda: (*releases.pinned_release()[:1], 99))
    with caplog.at_level("WARNING", logger=mkdocs_hooks.log.name):
        mkdocs_hooks.on_config(SimpleNamespace(strict=True))
    assert any("go unchecked" in record.getMessage() for record in caplog.records)


def test_notebooks_show_checked_text_as_plain_text():
    from guide_build.core import notebooks

    markdown = 'It has **115**{ data-claim="a/01_x.py:total" } and *no gradient*{ data-witness="a/01_x.py:lab" }.'
    assert notebooks._notebook_markdown([markdown], "p.md", "https://x/") == "It has 115 and no gradient."


def test_include_problems_name_page_and_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "snippets" / "c").mkdir(parents=True)
    write(tmp_path / "snippets" / "c" / "01_s.py", SECTIONED)
    page = (
        '```python exec="on" title="snippets/c/01_s.py"\n--8<-- "snippets/c/01_s.py:nope"\n```\n'
        '```python exec="on" title="snippets/c/02_t.py"\n--8<-- "snippets/c/02_t.py"\n```\n'
        '```python exec="on"\n--8<-- "snippets/c/01_s.py"\n```\n'
    )
    assert page_source.include_problems(page, "docs/p.md") == [
        'docs/p.md:2: "snippets/c/01_s.py" has no section "nope" (mark it with "# --8<-- [start:nope]" and '
        '"# --8<-- [end:nope]" lines)',
        'docs/p.md:5: the included file "snippets/c/02_t.py" does not exist',
        'docs/p.md:7: an executed block needs title="snippets/<chapter>/<file>.py"',
    ]


def test_helpers_of_the_same_name_in_two_chapters_never_meet(tmp_path):
    from snippet_definitions import definitions

    for chapter in ("first", "second"):
        (tmp_path / chapter).mkdir()
        write(tmp_path / chapter / "shared_helper.py", f"CHAPTER = {chapter!r}\n")
        write(tmp_path / chapter / "01_uses.py", "from shared_helper import CHAPTER\nprint(CHAPTER)\n")
    for _ in range(2):
        for chapter in ("first", "second"):
            assert runner.run_snippet(tmp_path / chapter / "01_uses.py").output == f"{chapter}\n"
            assert definitions(tmp_path / chapter / "01_uses.py")["CHAPTER"] == chapter


def test_a_witnessed_statement_may_hold_a_claim():

    page = 'so *the weight stays at\n**3.0**{ data-claim="c/01_w.py:end" }*{ data-witness="c/01_w.py:stuck" }.'
    (found,) = witnesses.find_witnesses(page, "docs/p.md")
    assert (found.line, found.label) == (1, "stuck")
    assert witnesses.unread_markup(page, "docs/p.md") == []


def test_a_witnessed_statement_may_hold_inline_code_with_stars():
    """`*` and `**` inside inline code are code, not emphasis: the statement is read whole, the
    notebook shows it whole, and a broken one after such code is still reported."""
    from guide_build.core import notebooks

    page = '*so do `w * 2` and\n`w ** 2`, not `-w`*{ data-witness="c/01_w.py:stars" }.\n'
    (found,) = witnesses.find_witnesses(page, "docs/p.md")
    assert (found.line, found.text, found.label) == (1, "so do `w * 2` and `w ** 2`, not `-w`", "stars")
    assert witnesses.unread_markup(page, "docs/p.md") == []
    assert notebooks._notebook_markdown([page], "p.md", "https://x/") == "so do `w * 2` and\n`w ** 2`, not `-w`.\n"
    broken = 'An odd `*` first. *then `w * 2`* { data-witness="c/01_w.py:stars" }, and `code`.\n'
    assert witnesses.find_witnesses(broken, "docs/p.md") == []
    (problem,) = witnesses.unread_markup(broken, "docs/p.md")
    assert problem.startswith("docs/p.md:1: a witness that is not read")
