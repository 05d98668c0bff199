import Foundation
import XCTest
@testable import SwordfishTool

final class SymbolizerTests: XCTestCase {
    func testLLVMJSONWithInlinedFrames() {
        let json = """
            [{"Address":"0x105a3b","ModuleName":"kernel","Symbol":[
              {"Column":9,"Discriminator":0,"FileName":"/repo/Kernel/Sources/Kernel/Memory.swift","FunctionName":"$e6Kernel5store","Line":12,"StartAddress":"0x105a00","StartFileName":"","StartLine":0},
              {"Column":5,"Discriminator":0,"FileName":"/repo/Kernel/Sources/Kernel/Main.swift","FunctionName":"kmain","Line":40,"StartAddress":"0x105a00","StartFileName":"","StartLine":0}]},
             {"Address":"0x1","ModuleName":"kernel","Symbol":[{"Column":0,"Discriminator":0,"FileName":"","FunctionName":"","Line":0,"StartAddress":"","StartFileName":"","StartLine":0}]}]
            """
        let chains = SymbolizerOutput.parseLLVMJSON(Data(json.utf8))
        XCTAssertEqual(chains, [
            [
                SourceLocation(function: "$e6Kernel5store", file: "/repo/Kernel/Sources/Kernel/Memory.swift", line: 12),
                SourceLocation(function: "kmain", file: "/repo/Kernel/Sources/Kernel/Main.swift", line: 40),
            ],
            [],
        ])
        let frame = BacktraceFrame(label: "#0", address: 0x105a3c, lookupAddress: 0x105a3b)
        XCTAssertEqual(Symbolizer.format(frame, chains[0], relativeTo: "/repo"), [
            "    #0 0x105a3c in $e6Kernel5store at Kernel/Sources/Kernel/Memory.swift:12",
            "        inlined into kmain at Kernel/Sources/Kernel/Main.swift:40",
        ])
        XCTAssertEqual(Symbolizer.format(frame, [], relativeTo: nil), ["    #0 0x105a3c in ??"])
    }

    func testAddr2lineOutput() {
        let text = "kmain\n/repo/Main.swift:40\n??\n??:0\nhelper\n/repo/Helper.swift:7 (discriminator 2)\n"
        XCTAssertEqual(SymbolizerOutput.parseAddr2line(text), [
            [SourceLocation(function: "kmain", file: "/repo/Main.swift", line: 40)],
            [],
            [SourceLocation(function: "helper", file: "/repo/Helper.swift", line: 7)],
        ])
    }

    func testOnlySwiftNamesAreDemangled() {
        XCTAssertTrue(SymbolizerOutput.isSwiftMangled("$s6Kernel4mainyyF"))
        XCTAssertTrue(SymbolizerOutput.isSwiftMangled("$e6Kernel4mainyyF"))
        XCTAssertFalse(SymbolizerOutput.isSwiftMangled("kmain"))
        XCTAssertFalse(SymbolizerOutput.isSwiftMangled("swift_once"))
    }
}
