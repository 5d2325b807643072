#!/usr/bin/env python3
"""Summarizes two kosoku runs (tests/autobahn/run.sh) and fails unless:
- with the message limit raised, no case is FAILED or ERROR (NON-STRICT and INFORMATIONAL
  are conformant: they probe SHOULDs and behaviour the RFC leaves open);
- with /ws's own limit, every case that did not pass was closed cleanly by the server with
  1009 (message too big) and passed with the limit raised.
"""

import json
import sys
from collections import Counter
from pathlib import Path

PASSING = {"OK", "NON-STRICT", "INFORMATIONAL"}


def load(folder):
    index = json.loads((Path(folder) / "index.json").read_text())
    (cases,) = index.values()  # one agent: the echo server
    out = {}
    for case_id, r in cases.items():
        detail = json.loads((Path(folder) / r["reportfile"]).read_text())
        out[case_id] = {**r, "wasClean": detail.get("wasClean")}
    if not out:
        sys.exit(f"{folder}: no cases ran")
    return out


def table(name, cases):
    counts = {}
    for case_id, r in cases.items():
        counts.setdefault(int(case_id.split(".")[0]), Counter())[r["behavior"]] += 1
    kinds = ["OK", "NON-STRICT", "INFORMATIONAL", "FAILED", "ERROR", "UNIMPLEMENTED"]
    print(f"\n{name}: {len(cases)} cases")
    print("| case | " + " | ".join(kinds) + " |")
    print("|---" * (len(kinds) + 1) + "|")
    for cat in sorted(counts):
        print(f"| {cat} | " + " | ".join(str(counts[cat][k]) for k in kinds) + " |")
    total = sum(counts.values(), Counter())
    print("| all | " + " | ".join(str(total[k]) for k in kinds) + " |")


def main():
    raised, limit = load(sys.argv[1]), load(sys.argv[2])
    table("limit raised to 16 MiB", raised)
    table("/ws's limit, 16 KiB", limit)
    problems = []
    for case_id, r in raised.items():
        if r["behavior"] not in PASSING or r["behaviorClose"] not in PASSING:
            problems.append(f"limit raised: {case_id} {r['behavior']}/{r['behaviorClose']}")
    closed_1009 = 0
    for case_id, r in limit.items():
        if r["behavior"] in PASSING and r["behaviorClose"] in PASSING:
            continue
        if r.get("remoteCloseCode") == 1009 and r["wasClean"] and raised.get(case_id, {}).get(
            "behavior"
        ) in PASSING:
            closed_1009 += 1
        else:
            problems.append(
                f"16 KiB limit: {case_id} {r['behavior']}/{r['behaviorClose']}, "
                f"close code {r.get('remoteCloseCode')}, clean {r['wasClean']}"
            )
    print(
        f"\nwith the 16 KiB limit, {closed_1009} cases sent a message over the limit and were "
        "closed cleanly with 1009 (graded FAILED by Autobahn, which expects an echo)"
    )
    if problems:
        sys.exit("Autobahn conformance problems:\n  " + "\n  ".join(problems))
    print("Autobahn: conformant")


main()
