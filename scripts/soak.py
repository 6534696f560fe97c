#!/usr/bin/python3
"""Crash and outage soak (issue #7): the real daemon fed caseload drops that make alerts fire, escalate and
resolve, killed with SIGKILL at random moments (during ingest, evaluation and delivery) and restarted, while
the webhook receiver and the SMTP server go down and come back. Afterwards it checks against an independent
model of what should have been sent:

  * every expected notification reached each receiver at least once (none lost);
  * a repeat only ever carries an Idempotency-Key / Message-ID already seen for the same content;
  * the database passes PRAGMA integrity_check, and no drop was evaluated (accepted) twice.

Usage: soak.py [--drops N] [--kills N] [--outages N] [--seed S] [--bin PATH]
`make soak` runs 80 drops and 60 kills; CI runs a short one (`make soak SOAK_ARGS="--drops 16 --kills 8"`).
Exit status 0 only when nothing was lost and every check passed.
"""
import argparse, email, email.policy, http.server, json, os, random, shutil, signal, socket, sqlite3
import subprocess, sys, tempfile, threading, time
from aiosmtpd.controller import Controller

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from soak_pg import free_port  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORKERS = ["W1", "W2", "W3", "W4", "W5"]


def level(count):
    """The model: caseload_high is warn > 2, crit > 3 (the rule in the soak config)."""
    return "critical" if count > 3 else "warning" if count > 2 else None


def expected_notifications(weeks):
    """Every (worker, status, severity, as_of) the model says must be notified, in drop order."""
    expected, current = [], {w: None for w in WORKERS}
    for as_of, counts in weeks:
        for w in WORKERS:
            new = level(counts[w])
            if new != current[w]:
                if new is None:
                    expected.append((w, "resolved", current[w], as_of))
                else:
                    expected.append((w, "firing", new, as_of))
                current[w] = new
    return expected


class Webhook:
    """A loopback webhook receiver that can go down and come back on the same port."""

    def __init__(self):
        self.lock = threading.Lock()
        self.received = []          # (idempotency key, (worker, status, severity, as_of))
        self.port = free_port()
        self.server = None

    def up(self):
        if self.server:
            return
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                time.sleep(0.02)  # a receiver that takes a moment, so kills land mid-delivery too
                payload = json.loads(body)
                with outer.lock:
                    for a in payload["alerts"]:
                        l = a["labels"]
                        outer.received.append((self.headers["Idempotency-Key"],
                                               (l["worker_id"], a["status"], l["severity"], a["asOf"])))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        class Server(http.server.ThreadingHTTPServer):
            allow_reuse_address = True

            def handle_error(self, request, client_address):
                pass    # a connection reset by a killed daemon is part of the soak

        self.server = Server(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def down(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


class Mail:
    """A loopback SMTP server (aiosmtpd) that can go down and come back on the same port."""

    def __init__(self):
        self.lock = threading.Lock()
        self.received = []          # (Message-ID, (worker, status, severity, as_of))
        self.port = free_port()
        self.controller = None

    def up(self):
        if self.controller:
            return
        outer = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                m = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
                text = m.get_body(("plain",)).get_content()
                worker = m["Subject"].split("worker_id=")[1].rstrip(")")
                status = m["X-Tidemark-Status"]
                first = next(line for line in text.splitlines() if " — " in line)
                kind = first.split(" — ")[0]
                severity = {"RED": "critical", "AMBER": "warning"}.get(kind)   # a resolved mail names no level
                as_of = next(line.split(": ", 1)[1] for line in text.splitlines() if line.strip().startswith("As of:"))
                with outer.lock:
                    outer.received.append((m["Message-ID"], (worker, status, severity, as_of)))
                return "250 OK"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def down(self):
        if self.controller:
            self.controller.stop()
            self.controller = None


class Daemon:
    def __init__(self, binary, config, log):
        self.binary, self.config, self.log = binary, config, log
        self.process = None
        self.socket = os.path.join(os.path.dirname(config), "control.sock")

    def start(self):
        self.process = subprocess.Popen([self.binary, "run", "--config", self.config], stdout=subprocess.DEVNULL,
                                        stderr=self.log, start_new_session=True)
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.request("status") is not None:
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.02)
        raise SystemExit("soak: the daemon did not start; see its log")

    def kill(self):
        self.process.kill()
        self.process.wait()

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)

    def request(self, cmd, args=None):
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(5)
                s.connect(self.socket)
                s.sendall((json.dumps({"id": 1, "cmd": cmd, "args": args or {}}) + "\n").encode())
                data = b""
                while not data.endswith(b"\n"):
                    chunk = s.recv(65536)
                    if not chunk:
                        return None
                    data += chunk
                reply = json.loads(data)
                return reply.get("result") if reply.get("ok") else None
        except OSError:
            return None


def soak_config(state, drops_dir, webhook, mail):
    """The soak's config: caseloads by worker, warn > 2 and crit > 3, a webhook and an email receiver."""
    return f"""
{state}
control: {{ socket: control.sock }}
sources:
  - name: caseloads
    directory: {drops_dir}
    shape: records
    as_of: {{ column: extract_date }}
    aggregate:
      - {{ metric: caseload, op: count, by: [team, worker_id] }}
    settle: 50ms
    after: move
rules:
  - name: caseload_high
    expr: caseload
    warn: "> 2"
    crit: "> 3"
receivers:
  - name: ops
    webhook: {{ url: "http://127.0.0.1:{webhook.port}/hook", timeout: 5s }}
  - name: managers
    email: {{ url: "smtp://127.0.0.1:{mail.port}", starttls: "off", from: "tidemark@example.gov.uk", to: [head@example.gov.uk] }}
routes:
  - receivers: [ops, managers]
    group_by: [worker_id]
    group_wait: 0s
    group_interval: 100ms
    repeat: 1000h
"""


def check_deliveries(weeks, webhook, mail):
    """What each receiver got against the model: (problems, {name: (expected, delivered, repeats, lost)})."""
    problems, figures = [], {}
    for name, server in (("webhook", webhook), ("email", mail)):
        expected = expected_notifications(weeks)
        if name == "email":
            expected = [(w, s, sev if s == "firing" else None, a) for (w, s, sev, a) in expected]
        got = {}
        for key, content in server.received:
            got.setdefault(content, set()).add(key)
        missing = [e for e in expected if e not in got]
        unexpected = [c for c in got if c not in expected]
        rekeyed = [c for c, keys in got.items() if len(keys) > 1]
        figures[name] = (len(expected), len(got), len(server.received) - len(got), len(missing))
        if missing:
            problems.append(f"{name}: {len(missing)} notifications lost, e.g. {missing[:3]}")
        if unexpected:
            problems.append(f"{name}: {len(unexpected)} notifications the model did not expect, e.g. {unexpected[:3]}")
        if rekeyed:
            problems.append(f"{name}: {len(rekeyed)} repeats under a new key, e.g. {rekeyed[:3]}")
    return problems, figures


def make_weeks(rng, drops):
    """The drops: each week every worker's caseload drifts; counts 1-5 cross warn (3) and crit (4) often."""
    weeks, counts = [], {w: rng.randint(1, 5) for w in WORKERS}
    for i in range(drops):
        counts = {w: (c if rng.random() < 0.6 else rng.randint(1, 5)) for w, c in counts.items()}
        weeks.append((time.strftime("%Y-%m-%d", time.gmtime(1735689600 + i * 86400)), dict(counts)))
    return weeks


class Outages:
    """Each receiver goes down `outages` times, for 1-3 drops each, at random drops."""

    def __init__(self, rng, drops, outages, webhook, mail):
        self.servers = {"webhook": webhook, "mail": mail}
        self.at, self.down_until, self.count = {}, {"webhook": -1, "mail": -1}, 0
        for target in self.servers:
            for i in rng.sample(range(drops - 2), min(outages, drops - 2)):
                self.at.setdefault(i, []).append((target, rng.randint(1, 3)))

    def before_drop(self, i):
        for target, length in self.at.get(i, []):
            self.servers[target].down()
            self.down_until[target] = max(self.down_until[target], i + length)
            self.count += 1
        for target, server in self.servers.items():
            if self.down_until[target] == i:
                server.up()


def land_drop(scratch, drops_dir, as_of, counts):
    """Writes a week's extract under a temporary name and renames it in; returns its name."""
    name = f"caseloads-{as_of}.csv"
    rows = [f"{as_of},North,{w},C{w}-{n}" for w in WORKERS for n in range(counts[w])]
    tmp = os.path.join(scratch, ".incoming.tmp")
    with open(tmp, "w") as f:
        f.write("extract_date,team,worker_id,case_ref\n" + "\n".join(rows) + "\n")
    os.rename(tmp, os.path.join(drops_dir, name))
    return name


def wait_taken(drops_dir, name, seconds, logs):
    """Waits until the drop has been taken (moved out), so drops are evaluated in order."""
    deadline = time.time() + seconds
    while os.path.exists(os.path.join(drops_dir, name)):
        if time.time() > deadline:
            raise SystemExit(f"soak: {name} was never taken; see {logs}")
        time.sleep(0.01)
    time.sleep(0.15)   # longer than group_interval, so each drop's changes are notified on their own


def finish(summary, figures, problems, work, keep, webhook, mail, repeats):
    """Prints the figures and any failures, removes the work directory unless kept, and exits 1 on a failure."""
    for line in summary:
        print(line)
    for name, (exp, delivered, dup, lost) in figures.items():
        print(f"      {name:8} notifications expected {exp}, delivered {delivered}, {repeats} {dup}, lost {lost}")
    for p in problems:
        print("FAIL: " + p)
    if keep or problems:
        print(f"      work directory kept: {work}")
    else:
        shutil.rmtree(work)
    webhook.down()
    mail.down()
    sys.exit(1 if problems else 0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--drops", type=int, default=80)
    ap.add_argument("--kills", type=int, default=60)
    ap.add_argument("--outages", type=int, default=6, help="outages of each receiver")
    ap.add_argument("--seed", type=int, default=int(time.time()))
    ap.add_argument("--bin", default=os.environ.get("TIDEMARK_BIN", os.path.join(ROOT, ".build/debug/tidemark")))
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    opts = ap.parse_args()
    rng = random.Random(opts.seed)
    work = tempfile.mkdtemp(prefix="tidemark-soak-")
    drops_dir = os.path.join(work, "drops")
    os.makedirs(drops_dir)

    webhook, mail = Webhook(), Mail()
    webhook.up()
    mail.up()
    config = os.path.join(work, "tidemark.yml")
    with open(config, "w") as f:
        f.write(soak_config("state_dir: state", "drops", webhook, mail))
    log = open(os.path.join(work, "daemon.log"), "ab")
    daemon = Daemon(opts.bin, config, log)
    daemon.start()

    weeks = make_weeks(rng, opts.drops)
    kill_at = set(rng.sample(range(opts.drops), min(opts.kills, opts.drops)))
    outages = Outages(rng, opts.drops, opts.outages, webhook, mail)
    kills = 0
    started = time.time()
    for i, (as_of, c) in enumerate(weeks):
        outages.before_drop(i)
        name = land_drop(drops_dir, drops_dir, as_of, c)
        if i in kill_at:
            time.sleep(rng.uniform(0, 0.35))     # lands during reading, evaluation, commit or delivery
            daemon.kill()
            kills += 1
            daemon.start()
        wait_taken(drops_dir, name, 60, f"{work}/daemon.log")
    webhook.up()
    mail.up()
    # A last restart tries waiting deliveries at once instead of after their backoff.
    daemon.kill()
    kills += 1
    daemon.start()
    deadline = time.time() + 180
    while time.time() < deadline:
        status = daemon.request("status")
        if status and status["outbox"]["pending"] == 0 and status["outbox"]["retrying"] == 0:
            break
        time.sleep(0.2)
    status = daemon.request("status")
    stop_status = daemon.stop()
    elapsed = time.time() - started

    # Checks against the model.
    problems, figures = check_deliveries(weeks, webhook, mail)
    db = sqlite3.connect(os.path.join(work, "state", "tidemark.db"))
    integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
    twice = db.execute("SELECT sha256, COUNT(*) FROM drops WHERE status = 'accepted' GROUP BY source, sha256 HAVING COUNT(*) > 1").fetchall()
    accepted = db.execute("SELECT COUNT(*) FROM drops WHERE status = 'accepted'").fetchone()[0]
    dead = db.execute("SELECT COUNT(*) FROM outbox WHERE state = 'dead'").fetchone()[0]
    if integrity != "ok":
        problems.append(f"integrity_check: {integrity}")
    if twice:
        problems.append(f"{len(twice)} drops evaluated twice")
    if accepted != opts.drops:
        problems.append(f"{accepted} drops accepted, expected {opts.drops}")
    if dead:
        problems.append(f"{dead} deliveries dead")
    if stop_status != 0:
        problems.append(f"the daemon exited {stop_status} on SIGTERM")

    finish([f"soak: seed {opts.seed}, {opts.drops} drops, {kills} kills (SIGKILL), {outages.count} receiver outages, {elapsed:.0f} s",
            f"      drops accepted {accepted}, evaluated twice {len(twice)}, integrity_check {integrity}, outbox dead {dead}"],
           figures, problems, work, opts.keep, webhook, mail, repeats="duplicated")


if __name__ == "__main__":
    main()
