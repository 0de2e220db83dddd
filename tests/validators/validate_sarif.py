#!/usr/bin/env python3
"""validate_sarif.py REPORT.sarif... — checks leakwatch-diff --format=sarif
output against sarif-2.1.0-subset.schema.json (see its description: the
official schema cannot be downloaded here) and what the schema cannot say:
each result's ruleId/ruleIndex name a rule of the driver, URIs are either
relative with a uriBaseId that the run defines or absolute file:// URIs,
levels agree with baselineState, every result has the site fingerprint.
Exit 0 when all are valid, 1 otherwise."""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lw_schema  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def uris(loc):
    pl = loc.get("physicalLocation")
    if pl:
        yield pl["artifactLocation"]


def semantic(doc):
    errs = []
    for r, run in enumerate(doc["runs"]):
        driver = run["tool"]["driver"]
        if driver.get("name") != "leakwatch" or not driver.get("version"):
            errs.append(f"runs[{r}].tool.driver: name/version")
        rules = [x["id"] for x in driver.get("rules", [])]
        bases = run.get("originalUriBaseIds", {})
        for i, res in enumerate(run.get("results", [])):
            p = f"runs[{r}].results[{i}]"
            if res.get("ruleId") not in rules:
                errs.append(f"{p}: ruleId {res.get('ruleId')!r} not a driver rule")
            elif rules.index(res["ruleId"]) != res.get("ruleIndex"):
                errs.append(f"{p}: ruleIndex does not match ruleId")
            want = {"new": ("error", "warning"), "unchanged": ("note",)}
            if res.get("level") not in want.get(res.get("baselineState"), ()):
                errs.append(f"{p}: level {res.get('level')} with baselineState "
                            f"{res.get('baselineState')}")
            if not re.fullmatch(r"[0-9a-f]{16}",
                                res.get("partialFingerprints", {}).get("leakwatchSite/v1", "")):
                errs.append(f"{p}: no leakwatchSite/v1 fingerprint")
            for loc in res.get("locations", []) + res.get("relatedLocations", []):
                for al in uris(loc):
                    uri = al.get("uri", "")
                    if "uriBaseId" in al:
                        if al["uriBaseId"] not in bases or re.match(r"^[a-z]+:", uri) or \
                                uri.startswith("/"):
                            errs.append(f"{p}: relative uri {uri!r} with bad base")
                    elif not uri.startswith("file:///"):
                        errs.append(f"{p}: uri {uri!r} neither relative nor file:///")
                    if re.search(r"[ \"<>\\]", uri):
                        errs.append(f"{p}: uri {uri!r} not percent-encoded")
    return errs


def main(argv):
    schema = lw_schema.load(os.path.join(HERE, "sarif-2.1.0-subset.schema.json"))
    bad = 0
    for path in argv[1:]:
        try:
            doc = lw_schema.load(path)
        except (OSError, ValueError) as e:
            print(f"{path}: not JSON: {e}", file=sys.stderr)
            bad += 1
            continue
        errs = lw_schema.validate(schema, doc) or semantic(doc)
        for e in errs:
            print(f"{path}: {e}", file=sys.stderr)
        bad += bool(errs)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
