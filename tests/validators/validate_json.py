#!/usr/bin/env python3
"""validate_json.py REPORT.json... — checks leakwatch-diff --format=json
output against docs/report.schema.json, plus what a schema cannot say:
lists ordered worst first, tids consistent with kind, summary counts equal
to the findings. Exit 0 when all are valid, 1 otherwise (errors on stderr)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lw_schema  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RANK = {"stuck": 0, "leaked": 1, "unjoined": 2}


def semantic(doc):
    errs = []
    for sec in ("new", "persisting", "fixed"):
        items = doc.get(sec, [])
        keys = [(RANK[f["verdict"]], -f["count"]) for f in items]
        if keys != sorted(keys):
            errs.append(f"$.{sec}: not ordered worst first")
        for i, f in enumerate(items):
            if len(f["ids"]) != f["count"]:
                errs.append(f"$.{sec}[{i}]: {len(f['ids'])} ids for count {f['count']}")
            if f["kind"] == "thread" and f["tids"] != f["ids"]:
                errs.append(f"$.{sec}[{i}]: tids differ from ids for a thread")
            if f["kind"] != "thread" and f["tids"]:
                errs.append(f"$.{sec}[{i}]: tids on a {f['kind']}")
        tally = doc["summary"][sec]
        if tally["instances"] != sum(f["count"] for f in items) or tally["sites"] != len(items):
            errs.append(f"$.summary.{sec}: counts do not match the list")
    failing = sum(f["count"] for f in doc["new"] if f["fails"])
    if doc["summary"]["failing"] != failing:
        errs.append("$.summary.failing: does not match new findings with fails=true")
    if "fails" in doc["summary"] and doc["summary"]["fails"] != (failing > 0):
        errs.append("$.summary.fails: does not match summary.failing")
    for sec in ("persisting", "fixed"):
        if any(f["fails"] for f in doc[sec]):
            errs.append(f"$.{sec}: a finding that is not new cannot fail the run")
    return errs


def main(argv):
    schema = lw_schema.load(os.path.join(ROOT, "docs", "report.schema.json"))
    bad = 0
    for path in argv[1:]:
        try:
            doc = lw_schema.load(path)
        except (OSError, ValueError) as e:
            print(f"{path}: not JSON: {e}", file=sys.stderr)
            bad += 1
            continue
        errs = lw_schema.validate(schema, doc)
        if not errs:
            errs = semantic(doc)
        for e in errs:
            print(f"{path}: {e}", file=sys.stderr)
        bad += bool(errs)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
