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

    /// A program built here, packed into a boot image beside a kernel, and a fault in it.
    func testAUserFaultIsSymbolisedInItsProgramFromTheBootImage() throws {
        guard let clang = Executables.findInToolchain("clang") ?? Executables.find("clang") else {
            throw XCTSkip("no clang to build a program with")
        }
        guard Symbolizer(kernel: "/nowhere").backend != nil else { throw XCTSkip("no llvm-symbolizer or addr2line") }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("swordfish-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try "int crash(int *p) {\n  return *p;\n}\n".write(toFile: "\(folder)/crash.c", atomically: true, encoding: .utf8)
        // Linked where user programs are, so that the address is one a guest would print.
        let build = ShellCommand(clang, [
            "-g", "-O0", "-nostdlib", "-static", "-fuse-ld=lld", "-Wl,-e,crash", "-Wl,-Ttext=0x8000001000",
            "-o", "\(folder)/crash", "\(folder)/crash.c",
        ])
        XCTAssertEqual(try Subprocess.run(build, output: .capture).status, 0)
        let program = try XCTUnwrap(FileManager.default.contents(atPath: "\(folder)/crash"))
        let image = try BootImageWriter.image([("hello", Data("not this one".utf8)), ("crash", program)])
        XCTAssertTrue(FileManager.default.createFile(atPath: "\(folder)/kernel.image", contents: image))

        let symbolizer = Symbolizer(kernel: "\(folder)/kernel", sourceRoot: folder)
        let fault = try XCTUnwrap(UserFaultReport(parsing: "FAULT crash thread 1: page fault (#PF) at rip 0x8000001000 address 0x0"))
        XCTAssertEqual(symbolizer.describe(fault), ["    rip 0x8000001000 in crash at crash.c:1"])
        let stranger = try XCTUnwrap(UserFaultReport(parsing: "FAULT ghost thread 1: page fault (#PF) at rip 0x8000001000"))
        XCTAssertEqual(symbolizer.describe(stranger), ["    rip 0x8000001000 in ?? (no program 'ghost' in \(folder)/kernel.image)"])
    }

    func testProgramsAreReadFromWellFormedBootImagesOnly() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("swordfish-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var image = try BootImageWriter.image([("a", Data([1, 2])), ("b", Data([3]))])
        XCTAssertTrue(FileManager.default.createFile(atPath: "\(folder)/good", contents: image))
        XCTAssertEqual(UserPrograms.executable(named: "b", inBootImage: "\(folder)/good"), Data([3]))
        XCTAssertNil(UserPrograms.executable(named: "c", inBootImage: "\(folder)/good"))
        XCTAssertNil(UserPrograms.executable(named: "a", inBootImage: "\(folder)/missing"))
        image.removeLast()                       // b's byte: its entry now runs past the end
        XCTAssertTrue(FileManager.default.createFile(atPath: "\(folder)/cut", contents: image))
        XCTAssertNil(UserPrograms.executable(named: "a", inBootImage: "\(folder)/cut"))
    }

    func testTheWholeELFBesideTheImageIsPreferred() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("swordfish-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let image = "\(folder)/kernel.image"
        XCTAssertTrue(FileManager.default.createFile(atPath: image, contents: try BootImageWriter.image([("a", Data([1])), ("b", Data([2]))])))
        try FileManager.default.createDirectory(atPath: UserPrograms.symbolsFolder(of: image), withIntermediateDirectories: true)
        XCTAssertTrue(FileManager.default.createFile(atPath: "\(UserPrograms.symbolsFolder(of: image))/a", contents: Data([1, 9, 9])))
        XCTAssertEqual(UserPrograms.executable(named: "a", inBootImage: image), Data([1, 9, 9]), "the stripped copy is in the image")
        XCTAssertEqual(UserPrograms.executable(named: "b", inBootImage: image), Data([2]), "nothing beside it: the image's")
    }

    func testOnlySwiftNamesAreDemangled() {
        XCTAssertTrue(SymbolizerOutput.isSwiftMangled("$s6Kernel4mainyyF"))
        XCTAssertTrue(SymbolizerOutput.isSwiftMangled("$e6Kernel4mainyyF"))
        XCTAssertFalse(SymbolizerOutput.isSwiftMangled("kmain"))
        XCTAssertFalse(SymbolizerOutput.isSwiftMangled("swift_once"))
    }
}
