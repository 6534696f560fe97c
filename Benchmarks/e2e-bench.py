#!/usr/bin/python3
"""End-to-end benchmarks of the release binary (issue #7, SPEC §12). Usage: e2e-bench.py [--drops N] [--gap S] [--idle S]

  latency  a drop renamed into a watched directory → the webhook POST received on loopback, group_wait 0s,
           N drops (default 200), each flipping one alert so each produces one notification: p50/p90/p99.
  status   `status` over the socket with 50 concurrent clients (Benchmarks/Sources/status-bench).
  idle     the daemon on Config/demo.yml (state in a temporary directory) after the sample drops, left idle
           for S seconds (default 60): RSS, CPU time used, and context switches (wake-ups) per thread.

The binary is `make release`'s (static Swift stdlib): TIDEMARK_BIN overrides it.
"""
import argparse, glob, http.server, json, os, shutil, signal, socket, subprocess, sys, tempfile, threading, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def percentile(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))]


def wait_for_socket(path, process, seconds=30):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if process.poll() is not None:
            raise SystemExit("the daemon exited")
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.connect(path)
                s.sendall(b'{"id":1,"cmd":"status"}\n')
                if s.recv(65536):
                    return
        except OSError:
            time.sleep(0.02)
    raise SystemExit("the daemon did not start")


def latency(binary, drops, state="state_dir: state", label="latency", gap=0.02):
    work = tempfile.mkdtemp(prefix="tidemark-e2e-")
    os.makedirs(os.path.join(work, "drops"))
    arrivals = {}
    arrived = threading.Condition()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, *args):
            pass

        def do_POST(self):
            now = time.monotonic()
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()
            with arrived:
                arrivals[body["alerts"][0]["drop"]] = now
                arrived.notify_all()

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with open(os.path.join(work, "tidemark.yml"), "w") as f:
        f.write(f"""
{state}
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
  - {{ name: caseload_high, expr: caseload, warn: "> 2" }}
receivers:
  - name: ops
    webhook: {{ url: "http://127.0.0.1:{server.server_address[1]}/hook" }}
routes:
  - {{ receivers: [ops], group_by: [worker_id], group_wait: 0s, group_interval: 10ms }}
""")
    process = subprocess.Popen([binary, "run", "--config", os.path.join(work, "tidemark.yml")],
                               stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "daemon.log"), "w"))
    wait_for_socket(os.path.join(work, "control.sock"), process)
    samples = []
    for i in range(drops):
        as_of = time.strftime("%Y-%m-%d", time.gmtime(1735689600 + i * 86400))
        n = 4 if i % 2 == 0 else 1           # fires, resolves, fires, ...
        name = f"caseloads-{as_of}.csv"
        tmp = os.path.join(work, "drops", ".incoming.tmp")
        with open(tmp, "w") as f:
            f.write("extract_date,team,worker_id,case_ref\n" + "".join(f"{as_of},North,W1,C{k}\n" for k in range(n)))
        with arrived:
            t0 = time.monotonic()
            os.rename(tmp, os.path.join(work, "drops", name))
            if not arrived.wait_for(lambda: name in arrivals, timeout=10):
                raise SystemExit(f"latency: no notification for {name}; see {work}/daemon.log")
            samples.append((arrivals[name] - t0) * 1000)
        time.sleep(gap)                       # > group_interval
    process.send_signal(signal.SIGTERM)
    process.wait()
    server.shutdown()
    shutil.rmtree(work)
    print(f"{label}: {len(samples)} drops, drop renamed in → webhook POST received: "
          f"p50 {percentile(samples, 0.5):.1f} ms, p90 {percentile(samples, 0.9):.1f} ms, "
          f"p99 {percentile(samples, 0.99):.1f} ms, max {max(samples):.1f} ms")


def demo_daemon(binary):
    """The daemon on Config/demo.yml with its paths moved to a temporary directory, after the samples."""
    work = tempfile.mkdtemp(prefix="tidemark-idle-")
    with open(os.path.join(ROOT, "Config/demo.yml")) as f:
        text = f.read().replace("../.demo/", work + "/")
    config = os.path.join(ROOT, "Config", ".bench-demo.yml")   # beside the original, for its relative paths
    with open(config, "w") as f:
        f.write(text)
    for d in ("caseloads", "workforce", "cpp", "mash", "reference"):
        os.makedirs(os.path.join(work, "drops", d))
    process = subprocess.Popen([binary, "run", "--config", config], stdout=subprocess.DEVNULL,
                               stderr=open(os.path.join(work, "daemon.log"), "w"))
    wait_for_socket(os.path.join(work, "control.sock"), process)
    for d, pattern in (("reference", "reference/*.csv"), ("workforce", "workforce/*.csv"), ("caseloads", "caseloads/*.csv"),
                       ("cpp", "cpp/*.csv"), ("mash", "mash/*.csv")):
        for f in sorted(glob.glob(os.path.join(ROOT, "Config/samples", pattern))):
            tmp = os.path.join(work, "drops", d, ".incoming.tmp")
            shutil.copy(f, tmp)
            os.rename(tmp, os.path.join(work, "drops", d, os.path.basename(f)))
    time.sleep(3)
    return process, work, config


def status_bench(binary, bench_bin):
    process, work, config = demo_daemon(binary)
    out = subprocess.run([bench_bin, os.path.join(work, "control.sock"), "50", "200"], capture_output=True, text=True)
    print(out.stdout.strip() or out.stderr.strip())
    process.send_signal(signal.SIGTERM)
    process.wait()
    os.remove(config)
    shutil.rmtree(work)


def threads_switches(pid):
    """Context switches per thread id (each one a wake-up of that thread)."""
    counts = {}
    for status in glob.glob(f"/proc/{pid}/task/*/status"):
        tid = status.split("/")[4]
        try:
            with open(status) as f:
                counts[tid] = sum(int(line.split()[1]) for line in f
                                  if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")))
        except FileNotFoundError:
            pass
    return counts


def memory(pid):
    with open(f"/proc/{pid}/smaps_rollup") as f:
        fields = {line.split(":")[0]: int(line.split()[1]) for line in f if line.endswith("kB\n")}
    return fields


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS"))


def idle(binary, seconds):
    process, work, config = demo_daemon(binary)
    pid = process.pid
    time.sleep(2)
    rss0, cpu0, sw0 = rss_kib(pid), cpu_seconds(pid), threads_switches(pid)
    time.sleep(seconds)
    rss1, cpu1, sw1 = rss_kib(pid), cpu_seconds(pid), threads_switches(pid)
    mem = memory(pid)
    threads = len(sw1)
    # Threads that came and went (Dispatch's pool) count from zero; ones that left are not counted.
    switches = sum(n - sw0.get(tid, 0) for tid, n in sw1.items())
    process.send_signal(signal.SIGTERM)
    process.wait()
    os.remove(config)
    shutil.rmtree(work)
    print(f"idle: demo config after the sample drops, {seconds} s: RSS {rss0 / 1024:.1f} → {rss1 / 1024:.1f} MiB, "
          f"CPU {cpu1 - cpu0:.2f} s ({100 * (cpu1 - cpu0) / seconds:.2f}%), "
          f"{switches} context switches over {threads} threads ({switches / seconds:.1f}/s)")
    print(f"      memory: anonymous {mem['Anonymous'] / 1024:.1f} MiB, file-backed clean {(mem['Private_Clean'] + mem['Shared_Clean']) / 1024:.1f} MiB "
          f"(the binary's text and read-only data, shared with the page cache), private dirty {mem['Private_Dirty'] / 1024:.1f} MiB")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--drops", type=int, default=200)
    ap.add_argument("--idle", type=int, default=60)
    ap.add_argument("--only", choices=["latency", "status", "idle"])
    ap.add_argument("--gap", type=float, default=0.02,
                    help="seconds between latency drops (over 10: each drop comes after the idle trim)")
    opts = ap.parse_args()
    binary = os.environ.get("TIDEMARK_BIN", os.path.join(ROOT, ".build/release/tidemark"))
    bench_bin = os.path.join(ROOT, "Benchmarks/.build/release/status-bench")
    print(f"binary {binary}; {os.cpu_count()} cores; {time.strftime('%Y-%m-%dT%H:%MZ', time.gmtime())}")
    if opts.only in (None, "latency"):
        latency(binary, opts.drops, gap=opts.gap, label="latency" if opts.gap < 10 else f"latency, {opts.gap:g} s apart")
    if opts.only in (None, "status"):
        status_bench(binary, bench_bin)
    if opts.only in (None, "idle"):
        idle(binary, opts.idle)


if __name__ == "__main__":
    main()
