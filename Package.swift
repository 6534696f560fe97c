// swift-tools-version:6.1
import PackageDescription

// Module map (see README "Architecture"):
//   CCurl, CCurlShim             C bindings: libcurl, opened with dlopen at the first transfer (+ non-variadic setopt)
//   CZlibSystem                  zlib's crc32, to check inflated xlsx parts
//   CCairo, CCairoShim           cairo (2D drawing): the charts in emails, Teams cards and digests, opened with dlopen at the first chart
//   CLinuxShim                   renameat2(RENAME_NOREPLACE), and giving idle memory back (madvise, malloc_trim)
//   TidemarkCurl                 Swift wrapper over one libcurl easy handle (HTTP, SMTP)
//   TidemarkCrypto               SHA-256 and HMAC-SHA256 (swift-crypto)
//   TidemarkCore                 pure domain: config model, expressions, alert engine, routing (no I/O)
//   TidemarkConfig               YAML → TidemarkCore model, with positions, env expansion, secrets
//   TidemarkIngest               drop readers (streaming CSV, JSON, xlsx), shapes and aggregation, identity
//   CLibpq, CLibpqShim           libpq (PostgreSQL client), opened with dlopen when the state is on PostgreSQL
//   TidemarkStore                durable state: SQLite (GRDB, WAL) or PostgreSQL shared by several daemons
//   TidemarkCharts               a series' history as a chart: pure layout, drawn to PNG by cairo
//   TidemarkNotify               payloads (Alertmanager, Teams, Slack, email), templates, delivery via libcurl
//   TidemarkDaemon               `tidemark run`: drop pipeline, timers, control socket, sd_notify, signals
//   tidemark                     the executable: argument parsing, text output
let package = Package(
    name: "tidemark",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "tidemark", targets: ["tidemark"]),
        // Libraries for the benchmark and fuzzing packages in Benchmarks/ and Fuzz/ (not a public API).
        .library(name: "TidemarkIngest", targets: ["TidemarkIngest"]),
        .library(name: "TidemarkCore", targets: ["TidemarkCore"]),
        .library(name: "TidemarkStore", targets: ["TidemarkStore"]),
        .library(name: "TidemarkNotify", targets: ["TidemarkNotify"]),
        .library(name: "TidemarkDaemon", targets: ["TidemarkDaemon"]),
        .library(name: "TidemarkControl", targets: ["TidemarkControl"]),
        .library(name: "TidemarkConfig", targets: ["TidemarkConfig"]),
        .library(name: "TidemarkCharts", targets: ["TidemarkCharts"]),
        .library(name: "TidemarkCurl", targets: ["TidemarkCurl"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
    ],
    targets: [
        // Headers only: CCurlShim opens libcurl with dlopen at the first transfer (an idle daemon with file
        // receivers never maps it; BENCHMARKS.md "Idle footprint").
        .systemLibrary(name: "CCurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .target(name: "CCurlShim", dependencies: ["CCurl"]),
        // zlib inflates each xlsx part and its crc32 (vectorised) checks it (ZipContainer.swift says why
        // not ZIPFoundation); a CRC written in Swift cost
        // a third of an xlsx drop's time (BENCHMARKS.md, "xlsx reader").
        .systemLibrary(name: "CZlibSystem", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),

        // Charts (SPEC §16): cairo draws them; its toy text API finds DejaVu Sans through fontconfig.
        // Headers only: CCairoShim opens libcairo with dlopen at the first chart (BENCHMARKS.md "Idle footprint").
        .systemLibrary(name: "CCairo", providers: [.apt(["libcairo2-dev", "fonts-dejavu-core"])]),
        .target(name: "CCairoShim", dependencies: ["CCairo"]),

        // PostgreSQL state (SPEC §18): libpq from Debian, opened with dlopen when a config names a database
        // (an embedded SQLite daemon never maps it; README "Two machines" says why libpq over PostgresNIO).
        // Headers only (no pkgConfig: its -lpq would link libpq into every daemon).
        .systemLibrary(name: "CLibpq", providers: [.apt(["libpq-dev"])]),
        .target(name: "CLibpqShim", dependencies: ["CLibpq"]),

        .target(name: "CLinuxShim"),
        .target(name: "TidemarkCurl", dependencies: ["CCurl", "CCurlShim"]),
        // SHA-256 and HMAC from swift-crypto (BoringSSL, built in): linking Debian's libcrypto only for
        // hashing mapped 3.4 MB into every idle daemon (BENCHMARKS.md, "Idle footprint").
        .target(name: "TidemarkCrypto", dependencies: [.product(name: "Crypto", package: "swift-crypto")]),
        .target(name: "TidemarkCore", dependencies: ["TidemarkCrypto"]),
        .target(name: "TidemarkControl", dependencies: ["TidemarkCore"]),
        .target(name: "TidemarkConfig", dependencies: [
            "TidemarkCore",
            .product(name: "Yams", package: "Yams"),
        ]),
        .target(name: "TidemarkIngest", dependencies: [
            "TidemarkCore", "TidemarkCrypto", "TidemarkCurl", "CZlibSystem", "CLinuxShim",
        ]),
        .target(name: "TidemarkStore", dependencies: [
            "TidemarkCore", "CLibpq", "CLibpqShim", .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "GRDBSQLite", package: "GRDB.swift"),
        ]),
        .target(name: "TidemarkCharts", dependencies: ["TidemarkCore", "CCairo", "CCairoShim", "CZlibSystem"]),
        .target(name: "TidemarkNotify", dependencies: [
            "TidemarkCore", "TidemarkCharts", "TidemarkCrypto", "TidemarkCurl", .product(name: "Mustache", package: "swift-mustache"),
        ]),
        .target(name: "TidemarkDaemon", dependencies: [
            "TidemarkCore", "TidemarkConfig", "TidemarkControl", "TidemarkIngest", "TidemarkStore", "TidemarkNotify", "TidemarkCrypto",
            "CLinuxShim",
        ]),
        .executableTarget(name: "tidemark", dependencies: [
            "TidemarkCore", "TidemarkConfig", "TidemarkControl", "TidemarkCurl", "TidemarkCrypto", "TidemarkIngest", "TidemarkDaemon",
            "TidemarkNotify",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // Shared test helpers; the Python fixtures they start live in Tests/Fixtures.
        .target(name: "TidemarkTestSupport", path: "Tests/TidemarkTestSupport"),
        .testTarget(name: "TidemarkCoreTests", dependencies: ["TidemarkCore", "TidemarkCrypto"]),
        .testTarget(name: "TidemarkConfigTests", dependencies: ["TidemarkConfig", "TidemarkCore", "TidemarkTestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "TidemarkStoreTests", dependencies: [
            "TidemarkStore", "TidemarkCore", "TidemarkTestSupport", .product(name: "GRDB", package: "GRDB.swift"),
        ]),
        .testTarget(name: "TidemarkChartsTests", dependencies: ["TidemarkCharts", "TidemarkCore", "TidemarkTestSupport"]),
        .testTarget(name: "TidemarkNotifyTests", dependencies: ["TidemarkNotify", "TidemarkCurl", "TidemarkCharts", "TidemarkCore", "TidemarkCrypto", "TidemarkTestSupport"]),
        .testTarget(name: "TidemarkIngestTests", dependencies: ["TidemarkIngest", "TidemarkConfig", "TidemarkCore", "TidemarkTestSupport"]),
        .testTarget(name: "TidemarkDaemonTests", dependencies: ["TidemarkDaemon", "TidemarkControl", "TidemarkStore", "TidemarkCore", "TidemarkTestSupport"]),
        // Runs the real `tidemark` binary as a subprocess; depending on it makes `swift test` build it.
        .testTarget(name: "EndToEndTests", dependencies: ["tidemark", "TidemarkTestSupport", "TidemarkStore", "TidemarkCore", "TidemarkDaemon", "TidemarkCrypto"]),
    ],
    swiftLanguageModes: [.v6]
)
