import XCTest
@testable import SwordfishTool

final class QEMUConfigurationTests: XCTestCase {
    func testTCGCommandLineIsTheDocumentedOne() {
        let qemu = QEMUConfiguration(kernel: "/k/kernel", cores: 2, memory: MemorySize(mebibytes: 512)!, accelerator: .tcg)
        XCTAssertEqual(qemu.command.executable, "qemu-system-x86_64")
        XCTAssertEqual(qemu.command.arguments, [
            "-machine", "pc", "-cpu", "max", "-smp", "2", "-m", "512M", "-accel", "tcg,thread=multi",
            "-kernel", "/k/kernel",
            "-display", "none", "-serial", "stdio", "-monitor", "none", "-no-reboot",
            "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
        ])
    }

    func testKVMUsesTheHostCPU() {
        let qemu = QEMUConfiguration(kernel: "k", accelerator: .kvm)
        let arguments = qemu.command.arguments
        XCTAssertEqual(value(after: "-cpu", in: arguments), "host")
        XCTAssertEqual(value(after: "-accel", in: arguments), "kvm")
    }

    func testCoresAndMemory() {
        let qemu = QEMUConfiguration(kernel: "k", cores: 8, memory: MemorySize(mebibytes: 4096)!)
        XCTAssertEqual(value(after: "-smp", in: qemu.command.arguments), "8")
        XCTAssertEqual(value(after: "-m", in: qemu.command.arguments), "4G")
    }

    func testGDBStopsAtTheFirstInstructionAndServesPort1234() {
        var qemu = QEMUConfiguration(kernel: "k")
        XCTAssertFalse(qemu.command.arguments.contains("-S"))
        qemu.waitsForDebugger = true
        XCTAssertEqual(Array(qemu.command.arguments.suffix(2)), ["-s", "-S"])
        XCTAssertTrue(qemu.debuggerInstructions.contains("gdb k -ex 'target remote :1234'"))
        XCTAssertTrue(qemu.debuggerInstructions.contains("hbreak main"))
        XCTAssertTrue(qemu.debuggerInstructions.contains("set architecture i386:x86-64"))
    }

    func testKernelArgumentsAreAppendedOnlyWhenGiven() {
        var qemu = QEMUConfiguration(kernel: "k")
        XCTAssertFalse(qemu.command.arguments.contains("-append"))
        qemu.kernelArguments = "test verbose=1"
        XCTAssertEqual(value(after: "-append", in: qemu.command.arguments), "test verbose=1")
    }

    func testPrintedCommandLineIsShellQuoted() {
        let qemu = QEMUConfiguration(kernel: "/my kernels/kernel", kernelArguments: "a b")
        let printed = qemu.command.description
        XCTAssertTrue(printed.hasPrefix("qemu-system-x86_64 -machine pc -cpu max -smp 2 -m 512M -accel tcg,thread=multi"))
        XCTAssertTrue(printed.contains("-kernel '/my kernels/kernel' -append 'a b' -display none"))
        XCTAssertTrue(printed.hasSuffix("-device isa-debug-exit,iobase=0xf4,iosize=0x04"))
    }

    func testTheNetworkIsAVirtioDeviceOnTheUserNetwork() {
        var qemu = QEMUConfiguration(kernel: "k")
        XCTAssertFalse(qemu.command.arguments.contains("-netdev"))
        qemu.hasNetwork = true
        XCTAssertEqual(value(after: "-netdev", in: qemu.command.arguments), "user,id=n0,guestfwd=tcp:10.0.2.100:7-cmd:cat")
        XCTAssertTrue(qemu.command.arguments.contains("virtio-net-pci,netdev=n0"))
    }

    func testExitStatusMapping() {
        XCTAssertEqual(QEMUExitStatus.toolStatus(forQEMUStatus: 1), 0, "guest wrote 0: success")
        XCTAssertEqual(QEMUExitStatus.toolStatus(forQEMUStatus: 3), 1, "guest wrote 1: failure")
        XCTAssertEqual(QEMUExitStatus.toolStatus(forQEMUStatus: 0), 1, "QEMU quit without a verdict")
        XCTAssertEqual(QEMUExitStatus.toolStatus(forQEMUStatus: 5), 5)
        XCTAssertEqual(QEMUExitStatus.toolStatus(forQEMUStatus: 137), 137)
    }

    private func value(after option: String, in arguments: [String]) -> String? {
        guard let index = arguments.firstIndex(of: option), index + 1 < arguments.count else { return nil }
        return arguments[index + 1]
    }
}

final class ShellQuotingTests: XCTestCase {
    func testSafeWordsStayBare() {
        XCTAssertEqual(ShellQuoting.quote("isa-debug-exit,iobase=0xf4,iosize=0x04"), "isa-debug-exit,iobase=0xf4,iosize=0x04")
        XCTAssertEqual(ShellQuoting.quote("/opt/x_y/kernel"), "/opt/x_y/kernel")
    }

    func testEverythingElseIsSingleQuoted() {
        XCTAssertEqual(ShellQuoting.quote(""), "''")
        XCTAssertEqual(ShellQuoting.quote("a b"), "'a b'")
        XCTAssertEqual(ShellQuoting.quote("$HOME"), "'$HOME'")
        XCTAssertEqual(ShellQuoting.quote("it's"), #"'it'\''s'"#)
    }

    func testCommandDescriptionJoinsQuotedWords() {
        XCTAssertEqual(ShellCommand("gdb", ["k", "-ex", "target remote :1234"]).description, "gdb k -ex 'target remote :1234'")
    }
}
