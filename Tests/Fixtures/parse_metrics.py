"""Parses Prometheus text exposition from stdin with the reference client library (prometheus_client) and
prints JSON: {"families": {name: {"type": ..., "samples": [[sample name, labels, value], ...]}}}.
A parse error exits 1 with the message on stderr.
"""
import json, sys
from prometheus_client.parser import text_string_to_metric_families

families = {}
try:
    for f in text_string_to_metric_families(sys.stdin.read()):
        families[f.name] = {"type": f.type, "samples": [[s.name, s.labels, s.value] for s in f.samples]}
except Exception as e:
    print(f"parse error: {e}", file=sys.stderr)
    sys.exit(1)
print(json.dumps({"families": families}))
