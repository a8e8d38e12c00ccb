#!/usr/bin/python3
"""`proxflow CMD --help` for every command (src/cli/cmd_*.c, docs/COMMANDS.md "Help").

For train, chain, sample (both forms), eval, sweep and info: --help and -h exit 0 on
one rank and under `mpirun -n 2`, print the help once (rank 0), write nothing on
stderr, and do nothing else (no file is created, even with a config, --out and
--index given); the help has a usage line, an options section and an example.  The
options are compared three ways: the ones the command's parser accepts (string
literals on the parser's strcmp / strncmp / pf_cli_option lines of src/cli/cmd_CMD.c),
the ones its help lists (the lines of its options section), and the ones its table in
docs/COMMANDS.md names -- all three must be the same set.  `proxflow --help` lists
every command and points to `proxflow CMD --help`; `proxflow help CMD` is CMD --help.

usage: check_help.py   (PROXFLOW_BIN, PROXFLOW_SOURCE_DIR from CTest)
"""
import os
import re
import subprocess
import sys
import tempfile

BIN = os.environ["PROXFLOW_BIN"]
SRC = os.environ.get("PROXFLOW_SOURCE_DIR", os.path.join(os.path.dirname(__file__), ".."))
COMMANDS = ["train", "chain", "sample", "eval", "sweep", "info"]
OPT = re.compile(r'"(--[a-z][a-z0-9-]*)')

fails = 0


def check(what, cond, detail=""):
    global fails
    print(("ok   " if cond else "FAIL ") + what + ("" if cond or not detail else f": {detail}"))
    if not cond:
        fails += 1


def run(args, ranks, cwd):
    cmd = [BIN] + args if ranks == 1 else ["mpirun", "-n", str(ranks), "--oversubscribe", BIN] + args
    p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout, p.stderr


def parser_options(cmd):
    """The options of the parser in src/cli/cmd_CMD.c: the "--opt" literals of the
    lines that compare an argument (the help text is not such a line)."""
    opts = set()
    with open(os.path.join(SRC, "src", "cli", f"cmd_{cmd}.c")) as f:
        for line in f:
            if re.search(r"\b(strn?cmp|pf_cli_option)\s*\(", line):
                opts.update(OPT.findall(line))
    return opts


def help_options(text):
    """The options listed in the help's options section: the leading -x / --xxx words
    of its indented lines."""
    opts, inside = set(), False
    for line in text.splitlines():
        if line.startswith("options"):
            inside = True
            continue
        if inside and not line.strip():
            break
        if inside:
            m = re.match(r"\s+((?:-{1,2}[a-z][a-z0-9-]*(?:,\s*)?)+)", line)
            if m:
                opts.update(re.findall(r"-{1,2}[a-z][a-z0-9-]*", m.group(1)))
    return opts - {"-h", "--help"}


def doc_options(cmd):
    """The options named in the first column of CMD's table in docs/COMMANDS.md."""
    with open(os.path.join(SRC, "docs", "COMMANDS.md")) as f:
        doc = f.read()
    m = re.search(r"^### `proxflow %s`\n(.*?)(?=^#{2,3} )" % cmd, doc, re.S | re.M)
    if not m:
        return None
    opts = set()
    for line in m.group(1).splitlines():
        cells = line.split("|")
        if len(cells) > 2:
            opts.update(re.findall(r"`(--[a-z][a-z0-9-]*)", cells[1]))
    return opts


with tempfile.TemporaryDirectory(prefix="pf_check_help_") as tmp:
    # a config, a sweep and a run directory name that --help must leave alone
    with open(os.path.join(tmp, "c.ini"), "w") as f:
        f.write("[train]\niterations = 5\n[data]\nsource = 8gaussians\n[output]\ndir = should_not_exist\n")
    with open(os.path.join(tmp, "s.ini"), "w") as f:
        f.write("[sweep]\nbase = c.ini\nout = sweep_should_not_exist\n[grid]\nflow.lambda = 1, 2\n")
    extra = {  # arguments that would otherwise make each command work
        "train": ["c.ini", "--out", "out_train"],
        "chain": ["c.ini", "--out", "out_chain", "--links", "2"],
        "sample": ["--checkpoint", "none.h5", "--n", "5", "--out", "out_sample.h5"],
        "eval": ["--checkpoint", "none.h5", "--json", "out_eval.json"],
        "sweep": ["s.ini", "--index", "0"],
        "info": ["none.h5"],
    }
    helps = {}
    for cmd in COMMANDS:
        for flag in ("--help", "-h"):
            for ranks in (1, 2):
                rc, out, err = run([cmd] + extra[cmd] + [flag], ranks, tmp)
                check(f"{cmd} ... {flag} on {ranks} rank{'s' if ranks > 1 else ''}: exit 0, "
                      "help once on stdout, nothing on stderr",
                      rc == 0 and out.count(f"usage: proxflow {cmd}") == 1 and err == "",
                      f"status {rc}, stderr {err[:300]!r}, stdout {out[:200]!r}")
                if ranks == 1 and flag == "--help":
                    helps[cmd] = out
        left = sorted(os.listdir(tmp))
        check(f"{cmd} --help created nothing", left == ["c.ini", "s.ini"], left)
        rc, out, err = run([cmd, "--help"], 1, tmp)  # the help alone, no other argument
        check(f"{cmd} --help without other arguments is the same help", rc == 0 and out == helps[cmd])
        rc, out, err = run(["help", cmd], 1, tmp)
        check(f"proxflow help {cmd} = proxflow {cmd} --help", rc == 0 and out == helps[cmd])
    rc, out, err = run(["sample", "--chain", "runs/c", "--help"], 1, tmp)
    check("sample --chain DIR --help: the same help", rc == 0 and out == helps["sample"])

    for cmd in COMMANDS:
        h = helps[cmd]
        check(f"{cmd} --help: usage, options, example",
              h.startswith(f"usage: proxflow {cmd}") and "\noptions" in h and "  -h, --help" in h
              and re.search(r"\nexamples?:\n  .*proxflow %s " % cmd, h) is not None, h[:200])
        long_lines = [line for line in h.splitlines() if len(line) > 110]
        check(f"{cmd} --help: lines of at most 110 characters", not long_lines, long_lines)
        p, hp, d = parser_options(cmd), help_options(h), doc_options(cmd)
        print(f"     {cmd}: parser {sorted(p)}")
        check(f"{cmd}: every option the parser accepts is in its --help", p <= hp, sorted(p - hp))
        check(f"{cmd}: --help lists no option the parser lacks", hp <= p, sorted(hp - p))
        check(f"{cmd}: docs/COMMANDS.md has a table of {cmd}'s options", d is not None)
        if d is not None:
            check(f"{cmd}: docs/COMMANDS.md names the parser's options, no other",
                  d == p, f"missing {sorted(p - d)}, extra {sorted(d - p)}")
    # the parsers are not empty (a broken extraction would make the checks above vacuous)
    check("the parsers' options were found (train has --set, --out, --resume, --dump-state, "
          "--allow-config-change)",
          parser_options("train") == {"--set", "--out", "--resume", "--dump-state",
                                      "--allow-config-change"},
          sorted(parser_options("train")))

    rc, out, err = run(["--help"], 1, tmp)
    check("proxflow --help: exit 0, every command, and `proxflow CMD --help`",
          rc == 0 and all(re.search(r"^  %s\s" % c, out, re.M) for c in COMMANDS)
          and "proxflow CMD --help" in out, out)
    rc2, out2, _ = run(["-h"], 2, tmp)
    check("proxflow -h on 2 ranks: the same, once", rc2 == 0 and out2 == out)
    rc, out, err = run(["train", "c.ini", "--bogus"], 1, tmp)
    check("a usage error points to `proxflow train --help`", rc == 2 and "proxflow train --help" in err, err)
    rc, out, err = run(["eval", "--bogus"], 1, tmp)
    check("a usage error points to `proxflow eval --help`", rc == 2 and "more: proxflow eval --help" in err, err)

print(f"check_help: {fails} failed")
sys.exit(1 if fails else 0)
