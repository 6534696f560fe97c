#!/usr/bin/python3
"""Two-machine soak (issue #19, SPEC §18): three real daemons share one PostgreSQL 15 (started here, on
loopback, as an unprivileged user) and one drop directory. While caseload drops land, daemons are
killed with SIGKILL and paused with SIGSTOP/SIGCONT at random (a paused active daemon loses its lease,
notices when it resumes and exits 1, and is started again, as systemd would), and the receivers go
down and come back. Afterwards it checks against the same independent model as `make soak`:

  * every expected notification reached each receiver at least once (none lost);
  * a repeat only ever carries an Idempotency-Key / Message-ID already seen for the same content;
  * no drop was accepted (evaluated) twice, every drop was accepted, and no delivery is dead.

Usage: soak-ha.py [--drops N] [--faults N] [--outages N] [--daemons N] [--seed S] [--bin PATH]
`make soak-ha` runs 60 drops and 40 faults; CI runs a short one. Exit status 0 only when every check passed.
"""
import argparse, os, random, signal, sys, tempfile, threading, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from soak import (Daemon, Mail, Outages, Webhook, ROOT, check_deliveries, finish, land_drop, make_weeks,  # noqa: E402
                  soak_config, wait_taken)
from soak_pg import Postgres  # noqa: E402

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--drops", type=int, default=60)
    ap.add_argument("--faults", type=int, default=40, help="SIGKILLs and SIGSTOP/SIGCONT pauses, across daemons")
    ap.add_argument("--outages", type=int, default=4, help="outages of each receiver")
    ap.add_argument("--daemons", type=int, default=3)
    ap.add_argument("--seed", type=int, default=int(time.time()))
    ap.add_argument("--bin", default=os.environ.get("TIDEMARK_BIN", os.path.join(ROOT, ".build/debug/tidemark")))
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    opts = ap.parse_args()
    rng = random.Random(opts.seed)
    work = tempfile.mkdtemp(prefix="tidemark-soak-ha-")
    pg = Postgres(work)
    drops_dir = os.path.join(work, "drops")
    os.makedirs(drops_dir)
    webhook, mail = Webhook(), Mail()
    webhook.up()
    mail.up()
    lease = 2
    text = soak_config(f'state: {{ postgres: "{pg.url}", lease: {lease}s }}', drops_dir, webhook, mail)
    daemons = []
    for i in range(opts.daemons):
        d = os.path.join(work, f"daemon{i}")
        os.makedirs(d)
        config = os.path.join(d, "tidemark.yml")
        with open(config, "w") as f:
            f.write(text)
        daemons.append(Daemon(opts.bin, config, open(os.path.join(d, "daemon.log"), "ab")))
    for d in daemons:
        d.start()

    # The supervisor restarts a daemon that exited (systemd's Restart=on-failure): one killed by the soak,
    # or one that resumed from a pause, found its lease gone and exited 1.
    lock = threading.Lock()
    paused = set()
    restarts = {"exited": 0}
    running = [True]

    def supervise():
        while running[0]:
            with lock:
                for d in daemons:
                    if d not in paused and d.process.poll() is not None:
                        if d.process.returncode == 1:
                            restarts["exited"] += 1
                        d.start()
            time.sleep(0.1)

    supervisor = threading.Thread(target=supervise, daemon=True)
    supervisor.start()

    weeks = make_weeks(rng, opts.drops)
    fault_at = {}
    for i in sorted(rng.choices(range(opts.drops), k=opts.faults)):
        fault_at.setdefault(i, []).append((rng.choice(["kill", "pause"]), rng.randrange(opts.daemons)))
    outages = Outages(rng, opts.drops, opts.outages, webhook, mail)
    kills = pauses = 0
    started = time.time()
    for i, (as_of, c) in enumerate(weeks):
        outages.before_drop(i)
        name = land_drop(work, drops_dir, as_of, c)
        for kind, which in fault_at.get(i, []):
            time.sleep(rng.uniform(0, 0.3))
            d = daemons[which]
            with lock:
                if d in paused or d.process.poll() is not None:
                    continue
                if kind == "kill":
                    d.process.kill()
                    d.process.wait()
                    kills += 1
                else:
                    paused.add(d)
                    d.process.send_signal(signal.SIGSTOP)
                    pauses += 1
            if kind == "pause":
                def resume(d=d, seconds=rng.uniform(0.5, 2.5 * lease)):
                    time.sleep(seconds)
                    with lock:
                        if d.process.poll() is None:
                            d.process.send_signal(signal.SIGCONT)
                        paused.discard(d)
                threading.Thread(target=resume, daemon=True).start()
        wait_taken(drops_dir, name, 90, f"{work}/daemon*/daemon.log")
    webhook.up()
    mail.up()
    while paused:
        time.sleep(0.1)
    # A daemon resumed last finds its term ended at its next renewal and exits 1: let the supervisor
    # restart it before the end, so the final SIGTERMs meet settled daemons.
    time.sleep(lease + 1)
    deadline = time.time() + 180
    while time.time() < deadline:
        status = next((s for s in (d.request("status") for d in daemons) if s), None)
        if status and status["outbox"]["pending"] == 0 and status["outbox"]["retrying"] == 0:
            break
        time.sleep(0.2)
    running[0] = False
    supervisor.join()
    roles = [((d.request("status") or {}).get("cluster") or {}).get("role") for d in daemons]
    stops = [d.stop() for d in daemons]
    elapsed = time.time() - started

    problems, figures = check_deliveries(weeks, webhook, mail)
    twice = pg.query("SELECT COUNT(*) FROM (SELECT 1 FROM drops WHERE status = 'accepted' GROUP BY source, sha256 HAVING COUNT(*) > 1) t")
    accepted = int(pg.query("SELECT COUNT(*) FROM drops WHERE status = 'accepted'"))
    dead = int(pg.query("SELECT COUNT(*) FROM outbox WHERE state = 'dead'"))
    terms = pg.query("SELECT term FROM leases WHERE name = 'active'")
    if twice != "0":
        problems.append(f"{twice} drops evaluated twice")
    if accepted != opts.drops:
        problems.append(f"{accepted} drops accepted, expected {opts.drops}")
    if dead:
        problems.append(f"{dead} deliveries dead")
    if roles.count("active") != 1:
        problems.append(f"roles at the end: {roles} (expected one active)")
    if any(s != 0 for s in stops):
        problems.append(f"exit statuses on SIGTERM: {stops}")

    pg.stop()
    finish([f"soak-ha: seed {opts.seed}, {opts.daemons} daemons on PostgreSQL, {opts.drops} drops, {kills} SIGKILLs, "
            f"{pauses} SIGSTOP pauses, {outages.count} receiver outages, {elapsed:.0f} s",
            f"      lease terms issued {terms}, daemons that found their lease gone and exited 1: {restarts['exited']}",
            f"      drops accepted {accepted}, evaluated twice {twice}, outbox dead {dead}"],
           figures, problems, work, opts.keep, webhook, mail, repeats="repeated under a known key")


if __name__ == "__main__":
    main()
