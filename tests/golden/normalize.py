#!/usr/bin/env python3
"""normalize.py — blanks what changes from run to run in a rendered report,
so golden files compare only what leakwatch decided and how it says it.

  normalize.py FORMAT FILE --root DIR --tmp DIR --snap S.json [--snap ...]

Volatile parts and what they become:
  thread ids -> T1, T2 … in order of first mention, the process id (from
      the snapshots) -> PID; only where the report names a thread
      (`thread N`, `tids …`, "tid": N), never line numbers;
  addresses 0x…                                   -> 0x?
  durations (`95 ms`, `4.2 s`, `1 min 5 s`)       -> <dur>; *_ms fields -> 0
  wake-up counts                                  -> N
  the repository and temporary directories        -> <ROOT>, <TMP>
  stack frames outside tests/golden/fixtures/ (libc, libstdc++, the Python
      interpreter: they change with the machine's versions) are dropped;
      frame numbers become `#` — except frames reports must never show
      (leakwatch's own, thread-start plumbing: see NEVER_SHOWN), which are
      kept so that a golden file records them if they come back;
  warnings (which libraries lack debug info)      -> dropped;
  the leakwatch version                           -> <version>;
  context ids in `show --tree`                    -> #C.
Prints the normalised text on stdout.
"""
import argparse
import json
import os
import re
import sys

FIXTURE_MARK = "fixtures/"
# Frames no report may show (lw_frames.c trims them): kept by the
# normaliser, so their return changes the golden output.
NEVER_SHOWN = re.compile(r"libleakwatch|lw_thread_start|preload/|\bstart_thread\b|\b__clone|\bclone3?\b|"
                         r"execute_native_thread_routine|\bpythread_wrapper\b|__libc_start")
DUR = re.compile(r"\b\d+(?:\.\d+)? (?:ms|s)\b|\b\d+ min \d+ s\b|\b\d+ h \d+ min\b")


class Norm:
    def __init__(self, root, tmp, snaps, keep_frames=False):
        # keep_frames: for checked-in snapshots, whose frames do not depend
        # on the machine, keep every frame.
        self.root, self.tmp, self.keep = root, tmp, keep_frames
        self.pid = None
        for path in snaps:
            with open(path, encoding="utf-8") as f:
                self.pid = json.load(f).get("pid", self.pid)
        self.begin()

    def begin(self):
        """Starts a new document: thread ids are numbered T1, T2 … in the
        order the document first names them, which depends only on what
        the report says, not on which helper threads happened to exist."""
        self.map = {} if self.pid is None else {self.pid: "PID"}

    def tid(self, v):
        if not str(v).isdigit():
            return v
        v = int(v)
        if v not in self.map:
            self.map[v] = f"T{sum(1 for x in self.map.values() if x != 'PID') + 1}"
        return self.map[v]

    def ids_list(self, m):
        return m.group(1) + re.sub(r"\d+", lambda x: self.tid(x.group(0)), m.group(2))

    def text(self, s):
        s = s.replace(self.tmp, "<TMP>").replace(self.root, "<ROOT>")
        s = re.sub(r"0x[0-9a-fA-F]+", "0x?", s)
        # context ids are the shim's slot numbers, not a creation order
        s = re.sub(r"(^|\s)#\d+ (root|thread|explicit)\b", r"\1#C \2", s, flags=re.M)
        s = re.sub(r"\b((?:thread|pid|tid)s?:? )(\d+(?:, \d+)*)", self.ids_list, s)
        s = re.sub(r"\b(woke )\d+ (times?)", r"\1N times", s)
        s = DUR.sub("<dur>", s)
        out, skip = [], False
        for line in s.split("\n"):
            if line.strip() in ("Warnings:",) or line.startswith("warning: "):
                skip = line.strip() == "Warnings:"
                continue
            if skip:
                if line.strip() == "":
                    skip = False
                continue
            if line.lstrip().startswith("> warning:"):
                continue
            fr = re.match(r"^(\s*)#\d+ (0x.*)$", line)
            if fr:
                if FIXTURE_MARK not in fr.group(2) and not self.keep and \
                        not NEVER_SHOWN.search(fr.group(2).replace(self.root, "<ROOT>")):
                    continue
                line = f"{fr.group(1)}# {fr.group(2)}"
            if re.match(r"^\s*\.\.\. \d+ more frames?$", line):
                continue
            out.append(line)
        return "\n".join(out)

    def frames(self, st):
        return [self.value(f) for f in st
                if isinstance(f, dict) and (self.keep or FIXTURE_MARK in (f.get("file") or "") or
                                            NEVER_SHOWN.search(" ".join([str(f.get("function") or ""), str(f.get("file") or ""),
                                                                        os.path.basename(str(f.get("module") or ""))])))]

    def value(self, v, key=None, parent=None):
        if isinstance(v, dict):
            out = {}
            for k, x in v.items():
                if k in ("creation_stack", "stack") and isinstance(x, list):
                    out[k] = self.frames(x)
                elif k in ("ip", "offset", "wakes_since_cancel") and isinstance(x, int):
                    out[k] = 0
                elif k.endswith("_ms") and k != "grace_ms" and isinstance(x, int):
                    out[k] = 0
                elif k in ("pid", "tid", "origin_tid") and isinstance(x, int):
                    out[k] = self.tid(x)
                elif k == "tids" or (k == "ids" and v.get("kind") == "thread"):
                    out[k] = [self.tid(i) for i in x]
                elif k == "warnings" or k == "toolExecutionNotifications":
                    out[k] = []
                elif k == "version" and isinstance(x, str) and x != "2.1.0":
                    out[k] = "<version>"
                else:
                    out[k] = self.value(x, k, v)
            return out
        if isinstance(v, list):
            return [self.value(x, key, parent) for x in v]
        if isinstance(v, str):
            return self.text(v)
        return v


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("format")
    ap.add_argument("file")
    ap.add_argument("--root", required=True)
    ap.add_argument("--tmp", required=True)
    ap.add_argument("--snap", action="append", default=[])
    ap.add_argument("--keep-frames", action="store_true")
    a = ap.parse_args()
    n = Norm(a.root, a.tmp, a.snap, a.keep_frames)
    with open(a.file, encoding="utf-8", errors="replace") as f:
        raw = f.read()
    if a.format in ("json", "sarif"):
        doc = n.value(json.loads(raw))
        sys.stdout.write(json.dumps(doc, indent=1, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(n.text(raw))


if __name__ == "__main__":
    main()
