import Foundation
import XCTest
@testable import SwordfishTool

final class LinuxGuestTests: XCTestCase {
    // MARK: Packages

    func testFindsTheKernelPackageInAptCacheDepends() {
        let depends = """
            linux-image-amd64
              Depends: linux-image-6.1.0-56-amd64

            """
        XCTAssertEqual(LinuxGuest.kernelPackage(inDepends: depends), "linux-image-6.1.0-56-amd64")
        XCTAssertNil(LinuxGuest.kernelPackage(inDepends: "linux-image-amd64\n  Depends: dpkg-dev\n"))
    }

    func testPicksTheNewestPlainKernelFromASearch() {
        let search = """
            linux-image-6.1.0-9-amd64-unsigned - Linux 6.1 for 64-bit PCs
            linux-image-6.1.0-56-amd64-dbg - Debug symbols for linux-image-6.1.0-56-amd64
            linux-image-6.1.0-50-amd64-unsigned - Linux 6.1 for 64-bit PCs
            linux-image-6.1.0-56-cloud-amd64-unsigned - Linux 6.1 for x86-64 cloud
            linux-image-6.1.0-56-rt-amd64 - Linux 6.1 for 64-bit PCs, PREEMPT_RT
            linux-image-6.1.0-50-amd64 - Linux 6.1 for 64-bit PCs (signed)

            """
        XCTAssertEqual(LinuxGuest.newestKernelPackage(inSearch: search), "linux-image-6.1.0-50-amd64")
        XCTAssertNil(LinuxGuest.newestKernelPackage(inSearch: "busybox - tiny utilities\n"))
    }

    func testKernelPackageNamesAndReleases() {
        XCTAssertTrue(LinuxGuest.isKernelPackage("linux-image-6.1.0-56-amd64"))
        XCTAssertTrue(LinuxGuest.isKernelPackage("linux-image-6.1.0-56-amd64-unsigned"))
        XCTAssertFalse(LinuxGuest.isKernelPackage("linux-image-amd64"))
        XCTAssertFalse(LinuxGuest.isKernelPackage("linux-image-6.1.0-56-cloud-amd64"))
        XCTAssertFalse(LinuxGuest.isKernelPackage("linux-image-6.1.0-56-amd64-dbg"))
        XCTAssertEqual(LinuxGuest.release(ofKernelPackage: "linux-image-6.1.0-56-amd64-unsigned"), "6.1.0-56-amd64")
        XCTAssertTrue(LinuxGuest.versionOrder("6.1.0-9-amd64", "6.1.0-56-amd64"))
        XCTAssertFalse(LinuxGuest.versionOrder("6.10.0-1-amd64", "6.9.0-1-amd64"))
    }

    func testCacheFollowsXDG() {
        XCTAssertEqual(LinuxGuest.defaultCache(environment: ["XDG_CACHE_HOME": "/c", "HOME": "/h"]), "/c/swordfish/linux")
        XCTAssertEqual(LinuxGuest.defaultCache(environment: ["HOME": "/h"]), "/h/.cache/swordfish/linux")
        XCTAssertEqual(LinuxGuest.defaultCache(environment: ["XDG_CACHE_HOME": "relative", "HOME": "/h"]), "/h/.cache/swordfish/linux")
    }

    func testCommandLinePassesQuickToInit() {
        XCTAssertEqual(LinuxGuest.commandLine(quick: false), "console=ttyS0 quiet panic=-1")
        XCTAssertEqual(LinuxGuest.commandLine(quick: true), "console=ttyS0 quiet panic=-1 -- quick")
        XCTAssertEqual(LinuxGuest.commandLine(quick: true, countsInstructions: true), "console=ttyS0 quiet panic=-1 nosmp -- quick")
    }

    func testLinuxGuestConfigurationDiffersOnlyInWhatItBoots() {
        let bench = BenchRun(repository: Repository(root: "/r"))
        let swordfish = bench.configuration(kernel: "/k", arguments: "bench")
        let linux = bench.configuration(kernel: "/v", initrd: "/i", arguments: LinuxGuest.commandLine(quick: true))
        XCTAssertEqual(BenchReport.sharedOptions(of: swordfish.command), BenchReport.sharedOptions(of: linux.command))
        XCTAssertEqual(Array(linux.command.arguments.drop { $0 != "-kernel" }.prefix(4)), ["-kernel", "/v", "-initrd", "/i"])
    }

    func testInstructionCountingRunsTCGOnOneThread() {
        var configuration = QEMUConfiguration(kernel: "/k", countsInstructions: true)
        XCTAssertTrue(configuration.command.description.contains("-accel tcg,thread=single -icount shift=0"))
        configuration.accelerator = .kvm
        XCTAssertFalse(configuration.command.arguments.contains("-icount"))
    }

    // MARK: The initramfs

    /// An entry read back from a newc archive.
    private struct Entry: Equatable {
        var name: String
        var mode: UInt32
        var data: [UInt8]
        var rdev: (UInt32, UInt32)
        static func == (a: Entry, b: Entry) -> Bool { a.name == b.name && a.mode == b.mode && a.data == b.data && a.rdev == b.rdev }
    }

    /// A reader written from the format's description, independent of the writer.
    private func entries(_ archive: [UInt8]) throws -> [Entry] {
        var result: [Entry] = []
        var offset = 0
        func field(_ index: Int) throws -> UInt32 {
            let start = offset + 6 + index * 8
            let text = String(decoding: archive[start..<start + 8], as: UTF8.self)
            return try XCTUnwrap(UInt32(text, radix: 16), "field \(index) at \(offset): \(text)")
        }
        while true {
            XCTAssertEqual(offset % 4, 0)
            XCTAssertEqual(String(decoding: archive[offset..<offset + 6], as: UTF8.self), "070701")
            let mode = try field(1), size = Int(try field(6)), nameSize = Int(try field(11))
            let rdev = (try field(9), try field(10))
            XCTAssertEqual(try field(12), 0)
            let nameStart = offset + 110
            XCTAssertEqual(archive[nameStart + nameSize - 1], 0, "names end in NUL")
            let name = String(decoding: archive[nameStart..<nameStart + nameSize - 1], as: UTF8.self)
            let dataStart = (nameStart + nameSize + 3) & ~3
            let data = Array(archive[dataStart..<dataStart + size])
            offset = (dataStart + size + 3) & ~3
            if name == "TRAILER!!!" { break }
            result.append(Entry(name: name, mode: mode, data: data, rdev: rdev))
        }
        XCTAssertEqual(offset, archive.count, "nothing after the trailer")
        return result
    }

    func testArchiveIsNewcWithEverythingInitNeeds() throws {
        let busybox: [UInt8] = Array(repeating: 0xBB, count: 13)
        let benchmark: [UInt8] = [1, 2, 3]
        let all = try entries(LinuxGuestInitramfs.archive(busybox: busybox, benchmark: benchmark))
        let byName = Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0) })
        XCTAssertEqual(byName["bin/busybox"]?.data, busybox)
        XCTAssertEqual(byName["bin/busybox"]?.mode, 0o100755)
        XCTAssertEqual(byName["swordfish-bench"]?.data, benchmark)
        XCTAssertEqual(byName["dev/console"]?.mode, 0o020600)
        XCTAssertTrue(byName["dev/console"]!.rdev == (5, 1))
        XCTAssertEqual(byName["bin/sh"]?.mode, 0o120777)
        XCTAssertEqual(byName["bin/sh"]?.data, Array("busybox".utf8))
        XCTAssertEqual(byName["proc"]?.mode, 0o040755)
        let initScript = String(decoding: try XCTUnwrap(byName["init"]).data, as: UTF8.self)
        XCTAssertTrue(initScript.hasPrefix("#!/bin/sh\n"))
        XCTAssertTrue(initScript.contains("ip link set lo up"))
        XCTAssertTrue(initScript.contains("/swordfish-bench \"$@\""))
        XCTAssertTrue(initScript.contains("poweroff -f"))
        // Directories come before what is in them.
        XCTAssertLessThan(all.firstIndex { $0.name == "bin" }!, all.firstIndex { $0.name == "bin/busybox" }!)
        XCTAssertLessThan(all.firstIndex { $0.name == "dev" }!, all.firstIndex { $0.name == "dev/console" }!)
    }

    func testEmptyArchiveIsJustTheTrailer() throws {
        let archive = CPIOArchive().finish()
        XCTAssertEqual(try entries(archive), [])
        XCTAssertEqual(archive.count, 124)        // 110 + "TRAILER!!!\0" (11), padded to 4
    }
}
