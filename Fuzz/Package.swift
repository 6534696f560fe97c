// swift-tools-version:6.1
import PackageDescription

// libFuzzer targets (issue #7): `make fuzz` builds them with `-sanitize=fuzzer,address` and runs each for a
// bounded time over its committed seed corpus in Fuzz/Corpus/<target>. Their own package, so `make test`
// never builds them with the sanitizer. Each target's entry point (<module>_main, as SwiftPM links it) hands
// its test function to LLVMFuzzerRunDriver.
let fuzzFlags: [SwiftSetting] = [.unsafeFlags(["-parse-as-library"])]

let package = Package(
    name: "tidemark-fuzz",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "tidemark", path: ".."),
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.20"),
    ],
    targets: [
        .target(name: "CLibFuzzer"),
        .target(name: "FuzzSupport", dependencies: ["CLibFuzzer"]),
        .executableTarget(name: "fuzz-csv", dependencies: [
            "FuzzSupport", .product(name: "TidemarkIngest", package: "tidemark"), .product(name: "TidemarkConfig", package: "tidemark"),
            .product(name: "TidemarkCore", package: "tidemark"),
        ], swiftSettings: fuzzFlags),
        .executableTarget(name: "fuzz-json", dependencies: [
            "FuzzSupport", .product(name: "TidemarkIngest", package: "tidemark"), .product(name: "TidemarkConfig", package: "tidemark"),
            .product(name: "TidemarkCore", package: "tidemark"),
        ], swiftSettings: fuzzFlags),
        .executableTarget(name: "fuzz-xlsx", dependencies: [
            "FuzzSupport", .product(name: "TidemarkIngest", package: "tidemark"), .product(name: "TidemarkConfig", package: "tidemark"),
            .product(name: "TidemarkCore", package: "tidemark"), .product(name: "ZIPFoundation", package: "ZIPFoundation"),
        ], swiftSettings: fuzzFlags),
        .executableTarget(name: "fuzz-period", dependencies: [
            "FuzzSupport", .product(name: "TidemarkCore", package: "tidemark"),
        ], swiftSettings: fuzzFlags),
        .executableTarget(name: "fuzz-config", dependencies: [
            "FuzzSupport", .product(name: "TidemarkConfig", package: "tidemark"),
        ], swiftSettings: fuzzFlags),
        .executableTarget(name: "fuzz-expression", dependencies: [
            "FuzzSupport", .product(name: "TidemarkCore", package: "tidemark"),
        ], swiftSettings: fuzzFlags),
        .executableTarget(name: "fuzz-wire", dependencies: [
            "FuzzSupport", .product(name: "TidemarkCore", package: "tidemark"), .product(name: "TidemarkCurl", package: "tidemark"),
        ], swiftSettings: fuzzFlags),
        .executableTarget(name: "fuzz-control", dependencies: [
            "FuzzSupport", .product(name: "TidemarkControl", package: "tidemark"), .product(name: "TidemarkCore", package: "tidemark"),
        ], swiftSettings: fuzzFlags),
    ],
    swiftLanguageModes: [.v6]
)
