// swift-tools-version:6.1
import PackageDescription

// Benchmarks live in their own package so `make test` never builds them; `make bench` does (release).
let package = Package(
    name: "tidemark-benchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "tidemark", path: ".."),
        // A CSV library, measured on the same file to justify (or not) the hand-written parser.
        .package(url: "https://github.com/yaslab/CSV.swift", from: "2.5.2"),
    ],
    targets: [
        .executableTarget(name: "reader-bench", dependencies: [
            .product(name: "TidemarkIngest", package: "tidemark"),
            .product(name: "TidemarkCore", package: "tidemark"),
            .product(name: "CSV", package: "CSV.swift"),
        ]),
        .executableTarget(name: "fanout-bench", dependencies: [
            .product(name: "TidemarkCore", package: "tidemark"),
            .product(name: "TidemarkStore", package: "tidemark"),
            .product(name: "TidemarkDaemon", package: "tidemark"),
        ]),
        .executableTarget(name: "status-bench"),
        .executableTarget(name: "xml-bench"),
        .executableTarget(name: "digest-bench", dependencies: [
            .product(name: "TidemarkCore", package: "tidemark"),
            .product(name: "TidemarkCharts", package: "tidemark"),
            .product(name: "TidemarkNotify", package: "tidemark"),
        ]),
        .executableTarget(name: "burst-profile", dependencies: [
            .product(name: "TidemarkCore", package: "tidemark"),
            .product(name: "TidemarkNotify", package: "tidemark"),
            .product(name: "TidemarkStore", package: "tidemark"),
        ]),
        .executableTarget(name: "engine-bench", dependencies: [
            .product(name: "TidemarkCore", package: "tidemark"),
            .product(name: "TidemarkStore", package: "tidemark"),
        ]),
        .executableTarget(name: "history-bench", dependencies: [
            .product(name: "TidemarkCore", package: "tidemark"),
            .product(name: "TidemarkStore", package: "tidemark"),
        ]),
    ],
    swiftLanguageModes: [.v6]
)
