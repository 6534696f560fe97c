#!/usr/bin/env python3
"""Writes a synthetic caseload extract: ROWS rows x 8 columns (about 70 bytes a row), seeded."""
import csv, random, sys

rows = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
out = sys.argv[2] if len(sys.argv) > 2 else "records.csv"
rng = random.Random(20251122)
teams = ["CIN/CP North", "CIN/CP Central", "CIN/CP South", "Assessment Team 1", "Assessment Team 2",
         "Children in Care 1", "Children in Care 2", "Leaving Care", "Disabled Children"]
workers = {t: [f"W{rng.randrange(1000, 9999)}" for _ in range(8)] for t in teams}
with open(out, "w", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(["extract_date", "case_ref", "team", "locality", "case_type", "allocation_status", "worker_ref", "worker_fte"])
    for i in range(rows):
        t = rng.choice(teams)
        w.writerow(["2025-03-03", f"C{100000 + i}", t, rng.choice(["North", "Central", "South"]),
                    rng.choice(["CIN", "CPP", "CLA"]), "ALLOCATED", rng.choice(workers[t]), rng.choice(["1.0", "0.8", "0.6"])])
