#!/usr/bin/env python3
"""validate_junit.py REPORT.xml... — checks leakwatch-diff --format=junit
output: well-formed XML (xml.etree), one <testsuite name="leakwatch">,
tests/failures/skipped attributes equal to what the cases hold, every case
with classname and name, failures with a message and a non-empty body.
Exit 0 when all are valid, 1 otherwise."""
import sys
import xml.etree.ElementTree as ET


def check(path):
    errs = []
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError) as e:
        return [f"not well-formed: {e}"]
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    if root.tag not in ("testsuite", "testsuites"):
        errs.append(f"root element is <{root.tag}>")
    if len(suites) != 1 or suites[0].get("name") != "leakwatch":
        return errs + ["expected exactly one <testsuite name=\"leakwatch\">"]
    s = suites[0]
    cases = s.findall("testcase")
    if not cases:
        errs.append("no <testcase>")
    fails = sum(1 for c in cases if c.find("failure") is not None)
    skips = sum(1 for c in cases if c.find("skipped") is not None)
    for attr, want in (("tests", len(cases)), ("failures", fails), ("skipped", skips),
                       ("errors", 0)):
        if s.get(attr) != str(want):
            errs.append(f"testsuite {attr}={s.get(attr)!r}, cases say {want}")
    for i, c in enumerate(cases):
        if not c.get("classname") or not c.get("name"):
            errs.append(f"testcase[{i}]: missing classname or name")
        f = c.find("failure")
        if f is not None and (not f.get("message") or not (f.text or "").strip()):
            errs.append(f"testcase[{i}]: failure without message or body")
        if f is not None and c.find("skipped") is not None:
            errs.append(f"testcase[{i}]: both failure and skipped")
    return errs


def main(argv):
    bad = 0
    for path in argv[1:]:
        errs = check(path)
        for e in errs:
            print(f"{path}: {e}", file=sys.stderr)
        bad += bool(errs)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
