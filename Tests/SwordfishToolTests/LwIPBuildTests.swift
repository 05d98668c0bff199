import XCTest
@testable import SwordfishTool

final class LwIPBuildTests: XCTestCase {
    func testTheSourceListNamesSourcePackagesOnly() {
        let system = """
            Types: deb
            URIs: http://deb.debian.org/debian
            Suites: bookworm bookworm-updates

            Types: deb
            URIs: http://deb.debian.org/debian-security
            """
        let list = LwIPBuild.sourceList(from: system)
        XCTAssertEqual(list.components(separatedBy: "Types: deb-src").count - 1, 2)
        XCTAssertFalse(list.lines.contains("Types: deb"))
        XCTAssertTrue(list.contains("Suites: bookworm bookworm-updates"))
    }

    func testLwIPIsCompiledFreestandingAndPositionIndependent() {
        let command = LwIPBuild.compileCommand(clang: "/tc/clang", source: "/s/core/tcp.c", object: "/o/tcp.o", port: "/port",
                                               include: "/s/include")
        XCTAssertEqual(command.executable, "/tc/clang")
        for flag in ["--target=x86_64-unknown-none-elf", "-ffreestanding", "-nostdlibinc", "-mno-red-zone", "-fPIC"] {
            XCTAssertTrue(command.arguments.contains(flag), flag)
        }
        // The port's headers (string.h, lwipopts.h) come before lwIP's own.
        XCTAssertLessThan(command.arguments.firstIndex(of: "/port")!, command.arguments.firstIndex(of: "/s/include")!)
        XCTAssertEqual(Array(command.arguments.suffix(4)), ["-c", "/s/core/tcp.c", "-o", "/o/tcp.o"])
    }

    func testTheCacheIsOutsideTheRepository() {
        XCTAssertEqual(LwIPBuild.defaultCache(environment: ["XDG_CACHE_HOME": "/c", "HOME": "/h"]), "/c/swordfish/lwip")
        XCTAssertEqual(LwIPBuild.defaultCache(environment: ["XDG_CACHE_HOME": "relative", "HOME": "/h"]), "/h/.cache/swordfish/lwip")
    }
}
