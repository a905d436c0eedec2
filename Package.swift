// swift-tools-version:6.0
import PackageDescription

// Layers, lowest first (see docs/ARCHITECTURE.md). Dependencies point down only.
let package = Package(
    name: "wafer",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "wafer", targets: ["WaferCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        .target(name: "GGUF"),
        .target(name: "CKernels", cSettings: [.unsafeFlags(["-O3"])]),
        .target(name: "Kernels", dependencies: ["GGUF", "CKernels"]),
        .target(name: "Engine", dependencies: ["GGUF", "Kernels"]),
        .target(name: "CWafer", cSettings: [.unsafeFlags(["-O3"])]),
        .target(name: "Wafer", dependencies: ["Engine", "Kernels", "CKernels", "CWafer", "GGUF"]),
        .target(name: "Patch"),
        .target(name: "Assistant", dependencies: ["Engine", "Patch"]),
        .systemLibrary(name: "CNCursesW", pkgConfig: "ncursesw",
                       providers: [.apt(["libncurses-dev"])]),
        .target(name: "Terminal", dependencies: ["CNCursesW"]),
        .target(name: "TUI", dependencies: ["Terminal", "Assistant", "Patch", "Wafer"]),
        .executableTarget(
            name: "WaferCLI",
            dependencies: [
                "GGUF", "Engine", "Wafer", "Patch", "Assistant", "Terminal", "TUI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),

        .target(name: "TestSupport", dependencies: ["Engine", "GGUF"], path: "Tests/TestSupport"),
        .testTarget(name: "GGUFTests", dependencies: ["GGUF"]),
        .testTarget(name: "KernelsTests", dependencies: ["Kernels", "GGUF"]),
        .testTarget(name: "EngineTests", dependencies: ["Engine", "GGUF", "Kernels", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "WaferTests", dependencies: ["Wafer", "Engine", "Kernels", "GGUF", "TestSupport"]),
        .testTarget(name: "PatchTests", dependencies: ["Patch"]),
        .testTarget(name: "TUITests", dependencies: ["TUI", "Terminal", "Assistant", "Patch", "Engine", "Wafer"]),
        .testTarget(name: "AssistantTests", dependencies: ["Assistant", "Engine", "Patch"]),
        .testTarget(name: "CLITests", dependencies: ["GGUF", "WaferCLI"]),
    ],
    swiftLanguageModes: [.v5]
)
