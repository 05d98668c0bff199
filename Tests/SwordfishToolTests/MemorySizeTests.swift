import XCTest
@testable import SwordfishTool

final class MemorySizeTests: XCTestCase {
    func testGoodSizes() throws {
        let cases: [(String, UInt64, String)] = [
            ("128M", 128, "128M"),
            ("1G", 1024, "1G"),
            ("4096M", 4096, "4G"),
            ("2g", 2048, "2G"),
            ("512m", 512, "512M"),
            ("1536M", 1536, "1536M"),
            ("512", 512, "512M"),
        ]
        for (text, mebibytes, description) in cases {
            let size = try MemorySize(parsing: text)
            XCTAssertEqual(size.mebibytes, mebibytes, text)
            XCTAssertEqual(size.description, description, text)
        }
        XCTAssertEqual(try MemorySize(parsing: "1G").bytes, 1 << 30)
    }

    func testBadSizes() {
        for text in ["", "M", "G", "0M", "0", "-1G", "+1G", "1.5G", "12X", "1GG", "1 G", " 1G", "1G ", "1K", "1T",
                     "99999999999999999999G", "1048577M", "0x10M", "١٢٨M"] {
            XCTAssertThrowsError(try MemorySize(parsing: text), text) { error in
                XCTAssertEqual(error as? ToolError, .invalidMemorySize(text))
            }
        }
    }

    func testLargestSizeIsAccepted() throws {
        XCTAssertEqual(try MemorySize(parsing: "1024G").mebibytes, 1024 * 1024)
        XCTAssertNil(MemorySize(mebibytes: 0))
    }

    func testOrdering() throws {
        XCTAssertLessThan(try MemorySize(parsing: "128M"), try MemorySize(parsing: "1G"))
    }
}

final class GuestConfigurationTests: XCTestCase {
    func testParsing() throws {
        let configuration = try GuestConfiguration(parsing: "4:1G")
        XCTAssertEqual(configuration.cores, 4)
        XCTAssertEqual(configuration.memory.mebibytes, 1024)
        XCTAssertEqual(configuration.description, "4c-1G")
        let numa = try GuestConfiguration(parsing: "4:4G:2")
        XCTAssertEqual(numa.numaNodes, 2)
        XCTAssertEqual(numa.description, "4c-4G-numa2")
    }

    func testNUMANodesBecomeMemoryBackendsAndCPUBlocks() {
        let qemu = QEMUConfiguration(kernel: "/k", cores: 4, memory: MemorySize(mebibytes: 4096)!, numaNodes: 2)
        XCTAssertEqual(qemu.numaArguments, [
            "-object", "memory-backend-ram,id=ram0,size=2048M", "-numa", "node,nodeid=0,memdev=ram0,cpus=0-1",
            "-object", "memory-backend-ram,id=ram1,size=2048M", "-numa", "node,nodeid=1,memdev=ram1,cpus=2-3",
        ])
        XCTAssertEqual(QEMUConfiguration(kernel: "/k").numaArguments, [])
    }

    func testBadConfigurations() {
        for text in ["4", "4:", ":1G", "0:1G", "256:1G", "x:1G", "4:1G:5", "4:1G:0", "3:1G:3:1", "4:1G:x", "4-1G"] {
            XCTAssertThrowsError(try GuestConfiguration(parsing: text), text)
        }
        XCTAssertThrowsError(try GuestConfiguration(parsing: "4:1.5G")) { error in
            XCTAssertEqual(error as? ToolError, .invalidMemorySize("1.5G"))
        }
    }

    func testStandardSetCoversOneCoreAnOddCountAndEight() {
        let names = GuestConfiguration.standardSet.map(\.description)
        XCTAssertEqual(names, ["1c-128M", "2c-1G", "3c-512M", "8c-1G", "8c-128M", "4c-4G-numa2", "4c-256M-skip2"])
        XCTAssertEqual(GuestConfiguration.standardSet.last?.kernelArguments, "test skip-core=2")
        XCTAssertEqual(GuestConfiguration.standardSet.first?.kernelArguments, "test")
    }
}
