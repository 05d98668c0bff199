// swift-tools-version: 6.0
// Swordfish user programs: Embedded Swift executables for ring 3, packed into the boot
// image by `swordfish build`. Built with Kernel/toolset.json for x86_64-unknown-none-elf
// and linked at 512 GiB (the first user slot of the address space).
import PackageDescription
import Foundation

let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent().path

/// What a program needs besides the user library.
let extraDependencies: [String: [Target.Dependency]] = [
    "monitor": [.product(name: "Channel", package: "Core"), .product(name: "MonitorProtocols", package: "Core"),
                .product(name: "Basics", package: "Core"), .product(name: "KnowledgeBase", package: "Core"),
                .product(name: "CapabilityProtocols", package: "Core"), .product(name: "ShootdownProtocol", package: "Core"),
                .product(name: "PageTables", package: "Core")],
    "shell": [.product(name: "LineEditor", package: "Core"), .product(name: "ShellCommands", package: "Core")],
    "checks": [.product(name: "GuestChecks", package: "Core")],
    "pci": [.product(name: "PCI", package: "Core")],
    "devmgr": [.product(name: "PCI", package: "Core"), .product(name: "Virtio", package: "Core")],
    "parallel": ["MatrixMultiply"],
    "netd": [.product(name: "PCI", package: "Core"), .product(name: "Virtio", package: "Core"),
             .product(name: "Network", package: "Core"), .product(name: "Basics", package: "Core"),
             .product(name: "FrameLink", package: "Core"), .product(name: "KnowledgeBase", package: "Core"), "FrameChannel", "LwIP"],
    "httpd": [.product(name: "FrameLink", package: "Core"), .product(name: "Network", package: "Core"),
              .product(name: "KnowledgeBase", package: "Core"), "FrameChannel", "LwIP", "HTTPServer"],
    "loopback": [.product(name: "FrameLink", package: "Core"), "FrameChannel", "LwIP"],
]

/// Every program links the same way.
func program(_ name: String) -> Target {
    .executableTarget(
        name: name,
        dependencies: ["SwordfishUser"] + (extraDependencies[name] ?? []),
        // The shell lines `swordfish test` runs for the program are not sources.
        exclude: FileManager.default.fileExists(atPath: "\(here)/Sources/\(name)/guest-tests") ? ["guest-tests"] : [],
        swiftSettings: [.swiftLanguageMode(.v5)],
        linkerSettings: [.unsafeFlags([
            "-Xclang-linker", "-nostdlib", "-Xclang-linker", "-static", "-Xclang-linker", "-fuse-ld=lld",
            "-Xlinker", "-T", "-Xlinker", "\(here)/linker.ld",
            "-Xlinker", "--orphan-handling=error",
            "-Xlinker", "--no-pie",
        ]), .linkedLibrary("swiftUnicodeDataTables")]
    )
}

/// Every program, one folder of Sources each (`swordfish new` adds to this list; a
/// folder made by hand needs its name here too). `swordfish build` packs each into the
/// boot image.
let programs = ["capfuzz", "capshare", "cat", "checks", "devmgr", "hello", "httpd", "lmp", "loopback", "monitor", "monitor-ping", "names", "netd", "parallel", "pci", "pingpong", "probe", "rtc", "shell", "span", "threads", "uchan", "ubench"]

let package = Package(
    name: "User",
    products: programs.map { .executable(name: $0, targets: [$0]) },
    dependencies: [.package(path: "../Core")],
    targets: [
        // Entry point, the system-call instruction, and the C functions the Swift runtime needs.
        .target(name: "UserRuntimeC", dependencies: [.product(name: "FreestandingC", package: "Core"), .product(name: "ABILayout", package: "Core")]),
        // The user library: system calls, console output, the heap, threads on the
        // dispatcher, mutexes and condition variables, waitsets.
        .target(
            name: "SwordfishUser",
            dependencies: [
                "UserRuntimeC", .product(name: "ABI", package: "Core"), .product(name: "Memory", package: "Core"),
                .product(name: "ProgramArguments", package: "Core"), .product(name: "Channel", package: "Core"),
                .product(name: "Basics", package: "Core"), .product(name: "DeviceManagement", package: "Core"),
                .product(name: "PCI", package: "Core"),
            ],
            swiftSettings: [.swiftLanguageMode(.v5)]
        ),
        // The parallel workload's compute kernel, shared with the Linux side of `swordfish
        // bench` (Benchmarks/Linux/swordfish-bench.c), which gcc builds at -O2 too.
        .target(name: "MatrixMultiply", cSettings: [.unsafeFlags(["-O2"])]),
        // lwIP (docs/network.md): `swordfish build` fetches Debian's source into a cache,
        // unpacks it and builds it freestanding into .build/lwip/liblwip.a (LwIPBuild in
        // the tool); this target is the port and the clients programs call.
        .target(
            name: "LwIP",
            dependencies: [.product(name: "FreestandingC", package: "Core")],
            exclude: ["port"],
            cSettings: [.unsafeFlags(["-I", "\(here)/Sources/LwIP/port", "-I", "\(here)/.build/lwip/lwip-2.1.3/src/include"])],
            linkerSettings: [.unsafeFlags(["-Xlinker", "\(here)/.build/lwip/liblwip.a"])]
        ),
        // The static web server on lwIP's TCP (docs/network.md), a library the `httpd`
        // program runs over its link to netd.
        .target(
            name: "HTTPServer",
            dependencies: ["SwordfishUser", "LwIP", .product(name: "HTTP", package: "Core")],
            swiftSettings: [.swiftLanguageMode(.v5)]
        ),
        // A connection as an Ethernet link: shared rings of frames both ways, checked
        // descriptors (Core's FrameLink). Both ends of the IP loopback and of netd's clients.
        .target(
            name: "FrameChannel",
            dependencies: ["SwordfishUser", .product(name: "FrameLink", package: "Core"), .product(name: "Basics", package: "Core"),
                           .product(name: "KnowledgeBase", package: "Core"), "LwIP"],
            swiftSettings: [.swiftLanguageMode(.v5)]
        ),
    ] + programs.map(program)
)
