#!/usr/bin/python3
"""Two machines on PostgreSQL (issue #19, SPEC §12 amended). Usage: ha-bench.py [--drops N] [--lease S] [--rounds N]

  latency   drop renamed in → webhook POST received, N drops, with the state on PostgreSQL 15 on loopback, and
            the same drops with the embedded SQLite state in the same run: p50/p90/p99.
  failover  two daemons on one database; the active one is SIGKILLed while the receiver holds its delivery
            open (it answers the first attempt of each notification never); the time from the kill to the
            standby's delivery of the same notification (same Idempotency-Key), against lease + 5 s.

PostgreSQL is started here (initdb as an unprivileged user, pg_ctl on loopback). The binary is
`make release`'s: TIDEMARK_BIN overrides it.
"""
import argparse, http.server, importlib.util, os, shutil, signal, sys, tempfile, threading, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
spec = importlib.util.spec_from_file_location("e2e_bench", os.path.join(ROOT, "Benchmarks/e2e-bench.py"))
e2e = importlib.util.module_from_spec(spec)
spec.loader.exec_module(e2e)
from soak import Daemon  # noqa: E402
from soak_pg import Postgres  # noqa: E402


def failover(binary, pg, lease, rounds):
    delays = []
    for r in range(rounds):
        database = f"failover{r}"
        pg.query(f"CREATE DATABASE {database}")
        work = tempfile.mkdtemp(prefix="tidemark-ha-")
        drops = os.path.join(work, "drops")
        os.makedirs(drops)
        delivered, attempts = {}, {}
        cond = threading.Condition()

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                key = self.headers.get("Idempotency-Key")
                self.rfile.read(int(self.headers["Content-Length"]))
                with cond:
                    attempts[key] = attempts.get(key, 0) + 1
                    first = attempts[key] == 1
                    cond.notify_all()
                if first:
                    time.sleep(120)           # the delivery the killed daemon had in flight never completes
                    return
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()
                with cond:
                    delivered.setdefault(key, time.monotonic())
                    cond.notify_all()

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        text = f"""
state: {{ postgres: "{pg.url.rsplit('/', 1)[0]}/{database}", lease: {lease}s }}
control: {{ socket: control.sock }}
sources:
  - name: caseloads
    directory: {drops}
    shape: records
    as_of: {{ column: extract_date }}
    aggregate:
      - {{ metric: caseload, op: count, by: [team, worker_id] }}
rules:
  - {{ name: caseload_high, expr: caseload, warn: "> 2" }}
receivers:
  - name: ops
    webhook: {{ url: "http://127.0.0.1:{server.server_address[1]}/hook", timeout: 300s }}
routes:
  - {{ receivers: [ops], group_by: [worker_id], group_wait: 0s }}
"""
        daemons = []
        for name in ("a", "b"):
            os.makedirs(os.path.join(work, name))
            config = os.path.join(work, name, "tidemark.yml")
            with open(config, "w") as f:
                f.write(text)
            daemon = Daemon(binary, config, open(os.path.join(work, name, "daemon.log"), "ab"))
            daemon.start()
            daemons.append(daemon)
        assert (daemons[0].request("status") or {}).get("cluster", {}).get("role") == "active"
        a, b = daemons[0].process, daemons[1].process
        tmp = os.path.join(work, ".incoming")
        with open(tmp, "w") as f:
            f.write("extract_date,team,worker_id,case_ref\n" + "".join(f"2025-03-24,North,W1,C{k}\n" for k in range(4)))
        os.rename(tmp, os.path.join(drops, "caseloads.csv"))
        with cond:
            if not cond.wait_for(lambda: attempts, timeout=10):
                raise SystemExit(f"failover: the active daemon never delivered; see {work}")
        a.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        a.wait()
        with cond:
            if not cond.wait_for(lambda: delivered, timeout=lease + 30):
                raise SystemExit(f"failover: the standby never delivered; see {work}")
            delay = min(delivered.values()) - killed
            keys = len(attempts)
        delays.append(delay)
        b.send_signal(signal.SIGTERM)
        b.wait()
        server.shutdown()
        shutil.rmtree(work)
        print(f"failover round {r + 1}: delivered by the standby {delay:.2f} s after the SIGKILL (lease {lease} s; "
              f"target ≤ {lease + 5} s), {keys} Idempotency-Key(s)")
    return delays


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--drops", type=int, default=200)
    ap.add_argument("--lease", type=int, default=15)
    ap.add_argument("--rounds", type=int, default=3)
    opts = ap.parse_args()
    binary = os.environ.get("TIDEMARK_BIN", os.path.join(ROOT, ".build/release/tidemark"))
    print(f"binary {binary}; {os.cpu_count()} cores; {time.strftime('%Y-%m-%dT%H:%MZ', time.gmtime())}")
    work = tempfile.mkdtemp(prefix="tidemark-ha-pg-")
    pg = Postgres(work)
    try:
        print(f"PostgreSQL: {pg.query('SELECT version()').split(',')[0]} on 127.0.0.1:{pg.port} (fsync on)")
        pg.query("CREATE DATABASE latency")
        e2e.latency(binary, opts.drops, state=f'state: {{ postgres: "{pg.url.rsplit("/", 1)[0]}/latency" }}',
                    label="latency (PostgreSQL)")
        e2e.latency(binary, opts.drops, label="latency (SQLite, same run)")
        delays = failover(binary, pg, opts.lease, opts.rounds)
        print(f"failover: max {max(delays):.2f} s over {len(delays)} rounds, lease {opts.lease} s")
    finally:
        pg.stop()
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
