// swift-tools-version:6.1
import PackageDescription

// Module map (see README "Architecture"):
//   CCurl, CCurlShim, COpenSSL   C bindings: libcurl (+ non-variadic setopt shim), OpenSSL libcrypto
//   TidemarkCurl                 Swift wrapper over one libcurl easy handle (HTTP, SMTP)
//   TidemarkCrypto               SHA-256 and HMAC-SHA256 from the OpenSSL libcurl already loads
//   TidemarkCore                 pure domain: config model, durations, thresholds, time windows (no I/O)
//   TidemarkConfig               YAML → TidemarkCore model, with positions, env expansion, secrets
//   TidemarkIngest               drop readers (streaming CSV, JSON), shapes and aggregation, identity
//   tidemark                     the executable: argument parsing, text output
let package = Package(
    name: "tidemark",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "tidemark", targets: ["tidemark"]),
        // Libraries for the benchmark package in Benchmarks/ (not a public API).
        .library(name: "TidemarkIngest", targets: ["TidemarkIngest"]),
        .library(name: "TidemarkCore", targets: ["TidemarkCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl",
                       providers: [.apt(["libcurl4-openssl-dev"])]),
        .target(name: "CCurlShim", dependencies: ["CCurl"]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "libcrypto",
                       providers: [.apt(["libssl-dev"])]),

        .target(name: "TidemarkCurl", dependencies: ["CCurl", "CCurlShim"]),
        .target(name: "TidemarkCrypto", dependencies: ["COpenSSL"]),
        .target(name: "TidemarkCore", dependencies: ["TidemarkCrypto"]),
        .target(name: "TidemarkConfig", dependencies: [
            "TidemarkCore",
            .product(name: "Yams", package: "Yams"),
        ]),
        .target(name: "TidemarkIngest", dependencies: ["TidemarkCore", "TidemarkCrypto", "TidemarkCurl"]),
        .executableTarget(name: "tidemark", dependencies: [
            "TidemarkCore", "TidemarkConfig", "TidemarkCurl", "TidemarkCrypto", "TidemarkIngest",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        .target(name: "TidemarkTestSupport", path: "Tests/TidemarkTestSupport"),
        .testTarget(name: "TidemarkCoreTests", dependencies: ["TidemarkCore", "TidemarkCrypto"]),
        .testTarget(name: "TidemarkConfigTests", dependencies: ["TidemarkConfig", "TidemarkCore", "TidemarkTestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "TidemarkIngestTests", dependencies: ["TidemarkIngest", "TidemarkConfig", "TidemarkCore", "TidemarkTestSupport"],
                    exclude: ["Fixtures"]),
        // Runs the real `tidemark` binary as a subprocess; depending on it makes `swift test` build it.
        .testTarget(name: "EndToEndTests", dependencies: ["tidemark", "TidemarkTestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
