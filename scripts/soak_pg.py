"""A real PostgreSQL 15 for the soak and the benchmarks: Debian's postgresql-15, on loopback."""
import os, shutil, socket, subprocess


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


PG_BIN = "/usr/lib/postgresql/15/bin"


class Postgres:
    """initdb in a temporary directory as `postgres` when run as root (PostgreSQL refuses root), pg_ctl on loopback."""

    def __init__(self, work):
        self.dir = os.path.join(work, "pg")
        os.makedirs(self.dir)
        os.chmod(work, 0o755)
        self.user = "postgres" if os.geteuid() == 0 else None
        if self.user:
            shutil.chown(self.dir, self.user)
        self.port = free_port()
        self.run("initdb", "-D", self.dir + "/data", "-U", "tidemark", "-A", "trust", "--no-sync", "--no-instructions")
        self.run("pg_ctl", "-D", self.dir + "/data", "-l", self.dir + "/log", "-w", "-o",
                 f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1", "start")
        self.url = f"postgresql://tidemark@127.0.0.1:{self.port}/postgres"

    def run(self, tool, *args):
        command = [os.path.join(PG_BIN, tool), *args]
        if self.user:
            command = ["runuser", "-u", self.user, "--", *command]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)

    def query(self, sql):
        out = subprocess.run(["psql", "-X", "-q", "-t", "-A", "-h", "127.0.0.1", "-p", str(self.port), "-U", "tidemark",
                              "-d", "postgres", "-c", sql], check=True, capture_output=True, text=True)
        return out.stdout.strip()

    def stop(self):
        self.run("pg_ctl", "-D", self.dir + "/data", "-m", "fast", "-w", "stop")
