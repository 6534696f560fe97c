#!/usr/bin/env python3
"""Idle memory of tidemark (demo config, after the sample drops and the idle trim), Alertmanager and Monit,
measured in the same run from /proc/PID/smaps_rollup (VmRSS, PSS, anonymous). `make bench-idle`."""
import importlib.util, os, re, shutil, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
spec = importlib.util.spec_from_file_location("e2e", os.path.join(ROOT, "Benchmarks", "e2e-bench.py"))
e2e = importlib.util.module_from_spec(spec)
spec.loader.exec_module(e2e)  # reuses its demo daemon (Config/demo.yml in a temporary directory)


def rollup(pid):
    fields = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            m = re.match(r"(\w+):\s+(\d+) kB", line)
            if m:
                fields[m.group(1)] = int(m.group(2))
    return fields


def report(name, pid, timeline=None):
    r = rollup(pid)
    extra = f"; VmRSS each second (KiB): {' '.join(map(str, timeline))}" if timeline else ""
    print(f"{name:14s} RSS {r['Rss'] / 1024:5.1f} MiB  PSS {r['Pss'] / 1024:5.1f} MiB  "
          f"anonymous {r['Anonymous'] / 1024:5.1f} MiB{extra}")


def tidemark(binary, seconds):
    process, work, config = e2e.demo_daemon(binary)
    timeline = []
    try:
        for _ in range(seconds):  # past the demo's 15 s staleness alert and the trim 10 s after it
            timeline.append(rollup(process.pid)["Rss"])
            time.sleep(1)
        report("tidemark", process.pid, timeline)
    finally:
        process.terminate()
        process.wait()
        os.remove(config)
        shutil.rmtree(work, ignore_errors=True)


def peer(name, argv, settle=15):
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(settle)
        if process.poll() is not None:
            print(f"{name}: exited with {process.returncode}")
            return
        report(name, process.pid)
    finally:
        process.terminate()
        process.wait()


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, ".build/release/tidemark")
    tidemark(binary, 40)
    work = tempfile.mkdtemp(prefix="tidemark-idle-peers-")
    am = os.path.join(work, "alertmanager.yml")
    with open(am, "w") as f:
        f.write("route: { receiver: r }\nreceivers: [{ name: r, webhook_configs: [{ url: 'http://127.0.0.1:9/' }] }]\n")
    peer("alertmanager", ["prometheus-alertmanager", f"--config.file={am}", f"--storage.path={work}/am",
                          "--web.listen-address=127.0.0.1:19093", "--cluster.listen-address="])
    monitrc = os.path.join(work, "monitrc")
    with open(monitrc, "w") as f:
        f.write(f"set daemon 30\nset httpd port 12812 and use address 127.0.0.1 allow 127.0.0.1\n"
                f"check directory drops with path {work}\n")
    os.chmod(monitrc, 0o600)
    peer("monit", ["monit", "-I", "-c", monitrc, "-p", f"{work}/monit.pid", "-s", f"{work}/monit.state"])
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
