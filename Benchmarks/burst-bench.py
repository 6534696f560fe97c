#!/usr/bin/python3
"""Burst benchmark (issue #18): one event that puts N alerts over a line, each its own notification, to
one loopback receiver (Benchmarks/receiver_async.py) — tidemark against Alertmanager in the same run.

  tidemark      one CSV drop of N rows (one worker each) renamed into a watched directory; a rule that
                fires on every worker; group_by [worker_id], group_wait 0s. Clock starts at the rename.
  alertmanager  N alerts POSTed to /api/v2/alerts in one request; group_by ['...'], group_wait 0s.
                Clock starts before the POST.

For each: the first delivery and the last (all N distinct) after the event, and the rate between them;
every run also checks that nothing was lost and counts repeats. The receiver's own capacity is
calibrated first. Median of RUNS (default 3). Usage: burst-bench.py [--count N] [--runs R]
The binary is `make release`'s: TIDEMARK_BIN overrides it; ALERTMANAGER_BIN the Alertmanager.
"""
import argparse, asyncio, json, os, shutil, signal, socket, subprocess, tempfile, time, urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(port, method, path, body=None, timeout=10):
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, method=method,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.read()


def stats(port):
    return json.loads(http(port, "GET", "/stats"))


def wait_for(predicate, seconds, what):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.005)
    raise SystemExit(f"timed out waiting for {what}")


def wait_all(port, count, seconds=120):
    return wait_for(lambda: (s := stats(port))["distinct"] >= count and s, seconds, f"{count} deliveries")


def measure(port, count, event):
    """Seconds from the event to the first and to the last of `count` distinct deliveries, and repeats."""
    http(port, "POST", "/reset", b"")
    t0 = time.monotonic()
    event()
    wait_all(port, count)
    time.sleep(0.5)                            # anything repeated shortly after still counts
    s = stats(port)
    return s["first"] - t0, s["last"] - t0, s["repeats"]


def calibrate(port, requests=3000, connections=8):
    """Requests per second the receiver answers from 8 keep-alive connections (its ceiling, not ours)."""
    body = b'{"alerts":[]}'
    request = (f"POST /calibrate HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body

    async def client(n):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for _ in range(n):
            writer.write(request)
            await reader.readuntil(b"{}")
        writer.close()

    async def run():
        await asyncio.gather(*(client(requests // connections) for _ in range(connections)))

    start = time.monotonic()
    asyncio.run(run())
    rate = requests / (time.monotonic() - start)
    http(port, "POST", "/reset", b"")
    return rate


def tidemark_run(binary, port, count, in_flight):
    work = tempfile.mkdtemp(prefix="tidemark-burst-")
    os.makedirs(os.path.join(work, "drops"))
    extra = f"\n    max_in_flight: {in_flight}" if in_flight else ""
    with open(os.path.join(work, "tidemark.yml"), "w") as f:
        f.write(f"""
state_dir: state
control: {{ socket: control.sock }}
sources:
  - name: caseloads
    directory: drops
    shape: records
    as_of: {{ column: extract_date }}
    aggregate:
      - {{ metric: caseload, op: count, by: [team, worker_id] }}
    after: delete
rules:
  - {{ name: caseload_high, expr: caseload, warn: "> 0" }}
receivers:
  - name: ops
    webhook: {{ url: "http://127.0.0.1:{port}/hook" }}{extra}
routes:
  - {{ receivers: [ops], group_by: [worker_id], group_wait: 0s }}
""")
    process = subprocess.Popen([binary, "run", "--config", os.path.join(work, "tidemark.yml")],
                               stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "daemon.log"), "w"))
    try:
        wait_for(lambda: os.path.exists(os.path.join(work, "control.sock")), 30, "the daemon's socket")
        time.sleep(0.3)
        tmp = os.path.join(work, "drops", ".incoming.tmp")
        with open(tmp, "w") as f:
            f.write("extract_date,team,worker_id,case_ref\n" + "".join(f"2026-11-30,North,W{k:05d},C{k}\n" for k in range(count)))
        return measure(port, count, lambda: os.rename(tmp, os.path.join(work, "drops", "caseloads-2026-11-30.csv")))
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait()
        shutil.rmtree(work)


def alertmanager_run(binary, port, count):
    work = tempfile.mkdtemp(prefix="alertmanager-burst-")
    web = free_port()
    with open(os.path.join(work, "am.yml"), "w") as f:
        f.write(f"""
route:
  receiver: hook
  group_by: ['...']
  group_wait: 0s
  group_interval: 1m
  repeat_interval: 4h
receivers:
  - name: hook
    webhook_configs:
      - url: http://127.0.0.1:{port}/am
        send_resolved: false
""")
    process = subprocess.Popen([binary, f"--config.file={work}/am.yml", f"--storage.path={work}/data",
                                f"--web.listen-address=127.0.0.1:{web}", "--cluster.listen-address="],
                               stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "am.log"), "w"))
    try:
        def ready():
            try:
                return http(web, "GET", "/-/ready", timeout=1) is not None
            except OSError:
                return False
        wait_for(ready, 30, "Alertmanager")
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        alerts = json.dumps([{"labels": {"alertname": "caseload_high", "team": "North", "worker_id": f"W{k:05d}"},
                              "annotations": {"summary": f"Caseload for W{k:05d} is 1 (Amber, over 0)"},
                              "startsAt": now} for k in range(count)]).encode()
        return measure(port, count, lambda: http(web, "POST", "/api/v2/alerts", alerts, timeout=60))
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait()
        shutil.rmtree(work)


def report(name, count, runs):
    runs = sorted(runs, key=lambda r: r[1])
    first, last, repeats = runs[len(runs) // 2]
    firsts = sorted(r[0] for r in runs)
    rate = (count - 1) / (last - first) if last > first else float("inf")
    print(f"  {name:<13} first {firsts[len(firsts) // 2] * 1000:7.1f} ms (min {firsts[0] * 1000:.1f}, max {firsts[-1] * 1000:.1f})"
          f"   all {count} {last * 1000:8.1f} ms (runs: {', '.join(f'{r[1] * 1000:.0f}' for r in runs)})"
          f"   first→last {rate:,.0f}/s   repeats {sum(r[2] for r in runs)}")
    return last


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, action="append")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--in-flight", type=int, default=0, help="receiver max_in_flight (0: the default)")
    opts = ap.parse_args()
    counts = opts.count or [1000, 10000]
    binary = os.environ.get("TIDEMARK_BIN", os.path.join(ROOT, ".build/release/tidemark"))
    am = os.environ.get("ALERTMANAGER_BIN", shutil.which("prometheus-alertmanager") or "alertmanager")
    receiver = subprocess.Popen(["/usr/bin/python3", os.path.join(HERE, "receiver_async.py")], stdout=subprocess.PIPE, text=True)
    try:
        port = int(receiver.stdout.readline())
        out = subprocess.run([am, "--version"], capture_output=True, text=True)
        version = (out.stdout or out.stderr).split("\n")[0]
        print(f"{time.strftime('%Y-%m-%dT%H:%MZ', time.gmtime())}; {os.cpu_count()} cores; {binary}; {version}")
        print(f"receiver: asyncio on loopback, calibrated at {calibrate(port):,.0f} requests/s (8 keep-alive connections)")
        for count in counts:
            print(f"{count} alerts, each its own notification, median of {opts.runs}:")
            ours = report("tidemark", count, [tidemark_run(binary, port, count, opts.in_flight) for _ in range(opts.runs)])
            theirs = report("alertmanager", count, [alertmanager_run(am, port, count) for _ in range(opts.runs)])
            print(f"  all delivered: tidemark {'sooner' if ours < theirs else 'LATER'} than Alertmanager ({ours / theirs:.2f}×)")
    finally:
        receiver.kill()


if __name__ == "__main__":
    main()
