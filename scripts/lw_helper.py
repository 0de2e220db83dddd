#!/usr/bin/env python3
"""lw_helper.py — the small jobs of leakwatch's shell commands that bash
does badly: ELF inspection, pairing a directory of snapshots into
per-process (start, exit) pairs, and merging per-process reports into one
JUnit / SARIF / JSON / markdown file.

It only reads snapshots' top-level fields and never judges findings (that
is leakwatch-diff's job). Standard library only.

  lw_helper.py elf PATH
      prints: dynamic | static | nonglibc:INTERP | script:INTERP | notelf
  lw_helper.py plan DIR
      one tab-separated line per item, in pid order:
        PAIR   pid exe before|- after  note
        NOEXIT pid exe start           note
        BAD    -   -   path            message
  lw_helper.py merge FORMAT OUT MANIFEST
      MANIFEST lines: pid<TAB>exe<TAB>status<TAB>note<TAB>file|-
      (status: findings | clean | error | no_exit_snapshot)
"""
import json
import os
import struct
import sys
import xml.etree.ElementTree as ET


def elf_kind(path):
    try:
        with open(path, "rb") as f:
            head = f.read(256)
            if head.startswith(b"#!"):
                line = head[2:].split(b"\n", 1)[0].decode("utf-8", "replace").split()
                if not line:
                    return "script:"
                interp = line[0]
                if os.path.basename(interp) == "env":
                    args = [a for a in line[1:] if not a.startswith("-")]
                    interp = args[0] if args else ""
                return "script:" + interp
            if head[:4] != b"\x7fELF":
                return "notelf"
            is64 = head[4] == 2
            endian = "<" if head[5] == 1 else ">"
            if is64:
                phoff, = struct.unpack_from(endian + "Q", head, 32)
                phentsize, phnum = struct.unpack_from(endian + "HH", head, 54)
            else:
                phoff, = struct.unpack_from(endian + "I", head, 28)
                phentsize, phnum = struct.unpack_from(endian + "HH", head, 42)
            f.seek(phoff)
            table = f.read(phentsize * phnum)
            for i in range(phnum):
                p_type, = struct.unpack_from(endian + "I", table, i * phentsize)
                if p_type != 3:  # PT_INTERP
                    continue
                if is64:
                    off, = struct.unpack_from(endian + "Q", table, i * phentsize + 8)
                    size, = struct.unpack_from(endian + "Q", table, i * phentsize + 32)
                else:
                    off, = struct.unpack_from(endian + "I", table, i * phentsize + 4)
                    size, = struct.unpack_from(endian + "I", table, i * phentsize + 16)
                f.seek(off)
                interp = f.read(min(size, 4096)).rstrip(b"\0").decode("utf-8", "replace")
                base = os.path.basename(interp)
                if base.startswith("ld-linux") or base.startswith("ld64.so") or base.startswith("ld.so"):
                    return "dynamic"
                return "nonglibc:" + interp
            return "static"
    except (OSError, struct.error, IndexError):
        return "notelf"


def clean(s):
    return str(s).replace("\t", " ").replace("\n", " ")


def load_meta(path):
    with open(path, "rb") as f:
        doc = json.load(f)
    if not isinstance(doc, dict) or doc.get("leakwatch_schema") != 1:
        raise ValueError("not a leakwatch snapshot (leakwatch_schema is not 1)")
    taken = doc.get("taken_at") or {}
    return {
        "path": path,
        "pid": int(doc.get("pid", -1)),
        "ppid": int(doc.get("ppid") or 0),
        "exe": doc.get("exe") or "?",
        "trigger": doc.get("trigger") or "?",
        "seq": int(doc.get("seq") or 0),
        "mono": int(taken.get("monotonic_ns") or 0),
    }


def plan(directory):
    snaps, out = [], []
    for name in sorted(os.listdir(directory)):
        if not name.endswith(".json") or name.startswith("."):
            continue
        path = os.path.join(directory, name)
        try:
            snaps.append(load_meta(path))
        except (OSError, ValueError) as e:
            out.append(("BAD", "-", "-", path, clean(e)))
    by_pid = {}
    for s in snaps:
        by_pid.setdefault(s["pid"], []).append(s)
    for lst in by_pid.values():
        lst.sort(key=lambda s: (s["mono"], s["seq"]))

    def start_of(pid, before_ns, depth=0):
        """The start snapshot a process that has none of its own (a forked
        child) is compared with: its parent's latest start snapshot taken
        before the child's exit, searching up the ppid chain."""
        if depth > 64 or pid not in by_pid:
            return None
        starts = [s for s in by_pid[pid] if s["trigger"] == "start" and s["mono"] <= before_ns]
        if starts:
            return starts[-1]
        ppid = by_pid[pid][0]["ppid"]
        return start_of(ppid, before_ns, depth + 1) if ppid != pid else None

    for pid in sorted(by_pid):
        lst = by_pid[pid]
        current = None
        for s in lst:
            if s["trigger"] == "start":
                if current is not None:
                    out.append(("NOEXIT", pid, clean(current["exe"]), current["path"],
                                "replaced by exec of " + clean(s["exe"])))
                current = s
            elif s["trigger"] == "exit":
                if current is not None:
                    out.append(("PAIR", pid, clean(s["exe"]), current["path"], s["path"],
                                "own start snapshot"))
                else:
                    parent = start_of(s["ppid"], s["mono"])
                    if parent is not None:
                        out.append(("PAIR", pid, clean(s["exe"]), parent["path"], s["path"],
                                    "forked child: compared with parent %d's start snapshot" % parent["pid"]))
                    else:
                        out.append(("PAIR", pid, clean(s["exe"]), "-", s["path"],
                                    "no start snapshot: compared with an empty baseline"))
                current = None
        if current is not None:
            out.append(("NOEXIT", pid, clean(current["exe"]), current["path"],
                        "no exit snapshot: it was killed by a signal, called _exit(), or is still running"))
    for row in out:
        print("\t".join(str(x) for x in row))


def read_manifest(path):
    rows = []
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) == 5:
                rows.append(dict(zip(("pid", "exe", "status", "note", "file"), parts)))
    return rows


def merge_json(rows, out):
    procs = []
    for r in rows:
        report = None
        if r["file"] != "-":
            with open(r["file"]) as f:
                report = json.load(f)
        procs.append({"pid": int(r["pid"]), "exe": r["exe"], "status": r["status"],
                      "note": r["note"], "report": report})
    doc = {"leakwatch_gate": 1, "processes": procs,
           "summary": {k: sum(1 for p in procs if p["status"] == k)
                       for k in ("findings", "clean", "error", "no_exit_snapshot")}}
    json.dump(doc, out, indent=2)
    out.write("\n")


def merge_junit(rows, out):
    root = ET.Element("testsuites", name="leakwatch-gate")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for r in rows:
        label = "%s (pid %s)" % (r["exe"], r["pid"])
        suites = []
        if r["file"] != "-":
            tree = ET.parse(r["file"]).getroot()
            suites = [tree] if tree.tag == "testsuite" else list(tree.iter("testsuite"))
        if not suites:
            s = ET.Element("testsuite", tests="1", failures="0", errors="0", skipped="0")
            case = ET.SubElement(s, "testcase", classname="process", name="exit snapshot")
            if r["status"] == "error":
                ET.SubElement(case, "error", message=r["note"])
                s.set("errors", "1")
            elif r["status"] == "no_exit_snapshot":
                ET.SubElement(case, "skipped", message=r["note"])
                s.set("skipped", "1")
            suites = [s]
        for s in suites:
            s.set("name", "leakwatch: " + label)
            for k in totals:
                try:
                    totals[k] += int(s.get(k, "0"))
                except ValueError:
                    pass
            root.append(s)
    for k, v in totals.items():
        root.set(k, str(v))
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    out.write(ET.tostring(root, encoding="unicode"))
    out.write("\n")


def merge_sarif(rows, out):
    doc = {"version": "2.1.0",
           "$schema": "https://json.schemastore.org/sarif-2.1.0.json", "runs": []}
    for r in rows:
        if r["file"] == "-":
            continue
        with open(r["file"]) as f:
            one = json.load(f)
        doc["version"] = one.get("version", doc["version"])
        doc["$schema"] = one.get("$schema", doc["$schema"])
        for run in one.get("runs", []):
            run.setdefault("automationDetails", {"id": "leakwatch-gate/pid-%s" % r["pid"]})
            doc["runs"].append(run)
    json.dump(doc, out, indent=2)
    out.write("\n")


def merge_text(rows, out, heading):
    for r in rows:
        out.write("%s process %s (%s): %s — %s\n\n" % (heading, r["pid"], r["exe"], r["status"], r["note"]))
        if r["file"] != "-":
            with open(r["file"]) as f:
                out.write(f.read())
            out.write("\n")


def main(argv):
    if len(argv) == 3 and argv[1] == "elf":
        print(elf_kind(argv[2]))
        return 0
    if len(argv) == 3 and argv[1] == "plan":
        plan(argv[2])
        return 0
    if len(argv) == 5 and argv[1] == "merge":
        fmt, dest, manifest = argv[2], argv[3], argv[4]
        rows = read_manifest(manifest)
        tmp = dest + ".tmp"
        with open(tmp, "w") as out:
            if fmt == "json":
                merge_json(rows, out)
            elif fmt == "junit":
                merge_junit(rows, out)
            elif fmt == "sarif":
                merge_sarif(rows, out)
            elif fmt == "markdown":
                out.write("## leakwatch-gate\n\n")
                merge_text(rows, out, "###")
            elif fmt == "text":
                merge_text(rows, out, "====")
            else:
                sys.stderr.write("lw_helper.py: unknown format %s\n" % fmt)
                return 2
        os.replace(tmp, dest)
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except (OSError, ValueError, ET.ParseError) as e:
        sys.stderr.write("lw_helper.py: %s\n" % e)
        sys.exit(2)
