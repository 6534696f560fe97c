#!/usr/bin/python3
"""libpq (Debian's libpq5, what tidemark uses) against PostgresNIO (vapor/postgres-nio 1.33.2) for the
PostgreSQL state (issue #19): a release build from a clean directory (time), the executable's size, and the
memory of a process that connected, ran one query and idles (VmRSS, Pss, anonymous). Two throwaway packages
are made in a temporary directory, nothing is committed; PostgreSQL 15 is started on loopback.
"""
import os, shutil, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
from soak_pg import Postgres  # noqa: E402

LIBPQ_PACKAGE = """// swift-tools-version:6.1
import PackageDescription
let package = Package(name: "probe", targets: [
    .systemLibrary(name: "CPQ", pkgConfig: "libpq"),
    .executableTarget(name: "probe", dependencies: ["CPQ"]),
])
"""
LIBPQ_MAIN = """import CPQ
import Glibc
let conn = PQconnectdb(CommandLine.arguments[1])
guard PQstatus(conn) == CONNECTION_OK else { fatalError(String(cString: PQerrorMessage(conn))) }
PQclear(PQexec(conn, "SELECT 1"))
_ = write(1, "ready\\n", 6)
sleep(600)
"""
NIO_PACKAGE = """// swift-tools-version:6.1
import PackageDescription
let package = Package(name: "probe", platforms: [.macOS(.v14)],
    dependencies: [.package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2")],
    targets: [.executableTarget(name: "probe", dependencies: [.product(name: "PostgresNIO", package: "postgres-nio")])])
"""
NIO_MAIN = """import Foundation
import PostgresNIO
let url = URLComponents(string: CommandLine.arguments[1])!
let config = PostgresClient.Configuration(host: url.host!, port: url.port!, username: url.user!, password: nil,
                                          database: String(url.path.dropFirst()), tls: .disable)
let client = PostgresClient(configuration: config)
try await withThrowingTaskGroup(of: Void.self) { group in
    group.addTask { await client.run() }
    _ = try await client.query("SELECT 1")
    FileHandle.standardOutput.write(Data("ready\\n".utf8))
    try await Task.sleep(for: .seconds(600))
}
"""


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def memory(pid):
    fields = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 2 and parts[0].endswith(":"):
                fields[parts[0][:-1]] = int(parts[1])
    return fields


def main():
    work = tempfile.mkdtemp(prefix="tidemark-pgclient-")
    print(f"{time.strftime('%Y-%m-%dT%H:%MZ', time.gmtime())}; {os.cpu_count()} cores")
    write(f"{work}/libpq/Package.swift", LIBPQ_PACKAGE)
    write(f"{work}/libpq/Sources/CPQ/module.modulemap", 'module CPQ [system] {\n  header "shim.h"\n  link "pq"\n  export *\n}\n')
    write(f"{work}/libpq/Sources/CPQ/shim.h", "#include <libpq-fe.h>\n")
    write(f"{work}/libpq/Sources/probe/main.swift", LIBPQ_MAIN)
    write(f"{work}/nio/Package.swift", NIO_PACKAGE)
    write(f"{work}/nio/Sources/probe/main.swift", NIO_MAIN)
    pg = Postgres(work)
    try:
        for client in ("libpq", "nio"):
            d = f"{work}/{client}"
            t0 = time.time()
            build = subprocess.run(["swift", "build", "-c", "release", "--static-swift-stdlib"], cwd=d, capture_output=True, text=True)
            if build.returncode != 0:
                print(build.stdout[-2000:], build.stderr[-2000:])
                raise SystemExit(f"{client}: build failed")
            seconds = time.time() - t0
            binary = f"{d}/.build/release/probe"
            p = subprocess.Popen([binary, pg.url], stdout=subprocess.PIPE, text=True)
            assert p.stdout.readline().strip() == "ready"
            time.sleep(2)
            m = memory(p.pid)
            p.kill()
            p.wait()
            print(f"{client:6} release build from clean {seconds:4.0f} s, executable {os.path.getsize(binary) / 1e6:5.1f} MB, "
                  f"connected and idle: VmRSS {m['Rss'] / 1024:.1f} MiB, Pss {m['Pss'] / 1024:.1f} MiB, "
                  f"anonymous {m['Anonymous'] / 1024:.1f} MiB")
    finally:
        pg.stop()
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
