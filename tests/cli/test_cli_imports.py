"""The import contract: the knowledge base, the engine, reports, every command's parser and the
`kb` / `diagnose` commands never load torch or textual, so the command line starts at once."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time

HEAVY = ("torch", "textual")

SCRIPT = textwrap.dedent("""\
    import contextlib, io, json, sys
    import advisor, advisor.cli, advisor.kb, advisor.engine, advisor.report
    import advisor.commands.kb, advisor.commands.diagnose, advisor.commands.probe
    import advisor.commands.demo, advisor.commands.tui
    # what `advisor probe` loads in the parent, which only supervises the worker process
    import advisor.probing.worker, advisor.probing.api, advisor.probing.options
    import advisor.probing.progress, advisor.report.probe
    from advisor.cli import COMMANDS, build_parser, main
    parser = build_parser()
    for argv in (["kb", "list"], ["diagnose", "f.yaml"], ["probe", "s.py", "--json", "r.json"],
                 ["demo", "--steps", "5"], ["tui", "r.json"]):
        parser.parse_args(argv)
    assert [c.load().__name__ for c in COMMANDS]
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        codes = [main(["kb", "validate"]), main(["kb", "list"]),
                 main(["diagnose", sys.argv[1], "--explain"]),
                 main(["diagnose", sys.argv[1], "--format", "markdown"])]
    heavy = sorted(m for m in sys.modules
                   if m.split(".")[0] in ("torch", "textual"))
    print(json.dumps({"codes": codes, "heavy": heavy, "output": out.getvalue()[-2000:]}))
    """)


def test_kb_engine_report_and_commands_do_not_import_torch_or_textual(tmp_path, cli_env):
    facts = tmp_path / "facts.yaml"
    facts.write_text("loss.trend: diverging\noptim.lr: 0.5\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(facts)], cwd=tmp_path,
                          env=cli_env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["heavy"] == [], result["heavy"]
    assert result["codes"] == [0, 0, 0, 0], result["output"]


def test_cli_commands_do_not_import_torch_or_textual(tmp_path, cli_env):
    facts = tmp_path / "facts.yaml"
    facts.write_text("loss.trend: diverging\n", encoding="utf-8")
    for args in (["kb", "validate"], ["diagnose", str(facts)], ["--help"], ["--version"],
                 ["probe", "--help"], ["demo", "--help"], ["tui", "--help"]):
        done = subprocess.run([sys.executable, "-X", "importtime", "-m", "advisor", *args],
                              cwd=tmp_path, env=cli_env(), capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 0, done.stderr[-2000:]
        imported = {line.split("|")[-1].strip() for line in done.stderr.splitlines()
                    if line.startswith("import time:")}
        assert imported, "python -X importtime printed nothing"
        heavy = sorted(m for m in imported if m.split(".")[0] in HEAVY)
        assert heavy == [], f"advisor {' '.join(args)} imported {heavy}"


def test_help_starts_within_half_a_second(tmp_path, cli_env):
    env = cli_env()
    timings = []
    for _ in range(3):
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "advisor", "--help"], cwd=tmp_path,
                              env=env, capture_output=True, text=True, timeout=60)
        timings.append(time.perf_counter() - start)
        assert done.returncode == 0, done.stderr
    assert min(timings) < 0.5, f"advisor --help took {min(timings):.3f} s at best"
