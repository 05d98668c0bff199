// What a core does when something goes wrong in the kernel: say which core, what
// happened and where, in a fixed format the host tool recognises and symbolises
// (`PANIC core N: …`, then registers, then a frame-pointer backtrace), and stop this
// core only. The other cores go on: the last thing a panic does is tell them it stops
// (KernelMessage.stopping), and a core that cannot is noticed when it stops answering.
// The panic path writes the serial port directly and never allocates: the heap may be
// what broke.
import Arch
import Basics
import KernelMessages

enum Panic {
    static func writeCore() {
        if let block = CoreBlock.current {
            SerialPort.writeDecimal(UInt64(block.pointee.coreNumber))
        } else {
            // Before this core set up its block: name it by APIC ID instead.
            SerialPort.write("? (apic ")
            SerialPort.writeDecimal(UInt64(CPU.initialAPICID))
            SerialPort.write(")")
        }
    }

    static func header() {
        SerialPort.write("\nPANIC core ")
        writeCore()
        SerialPort.write(": ")
    }

    static func backtrace(from framePointer: UInt64, rip: UInt64?) {
        SerialPort.write("  backtrace:")
        if let rip { SerialPort.write(" "); SerialPort.writeHex(rip) }
        let stack = CoreBlock.current?.pointee.stack ?? KernelImage.bootStack
        walkFrames(from: framePointer, within: stack) { address in
            SerialPort.write(" ")
            SerialPort.writeHex(address)
        }
        SerialPort.write("\n")
    }

    static func footer() -> Never {
        // The other cores' monitors stop waiting on this one. A panic on the way (the
        // links may be what broke) skips it the second time.
        if let block = CoreBlock.current, !block.pointee.stopping {
            block.pointee.stopping = true
            CoreState.current?.announceStopping()
        }
        SerialPort.write("core ")
        writeCore()
        SerialPort.write(" stopped\n")
        CPU.stop()
    }

    /// A CPU exception in the kernel.
    static func report(_ exception: Exception) -> Never {
        header()
        SerialPort.write(exception.name)
        SerialPort.write(" vector ")
        SerialPort.writeDecimal(UInt64(exception.vector))
        SerialPort.write(" error ")
        SerialPort.writeHex(exception.errorCode)
        SerialPort.write("\n  rip ")
        SerialPort.writeHex(exception.instructionPointer, digits: 16)
        SerialPort.write(" rsp ")
        SerialPort.writeHex(exception.stackPointer, digits: 16)
        SerialPort.write(" cr2 ")
        SerialPort.writeHex(exception.faultAddress, digits: 16)
        SerialPort.write("\n")
        backtrace(from: exception.framePointer, rip: exception.instructionPointer)
        footer()
    }

    /// A kernel bug found by a check: `reason`, and an address that helps.
    static func stop(reason: StaticString, address: UInt64 = 0) -> Never {
        header()
        SerialPort.write(reason)
        if address != 0 { SerialPort.write(" ("); SerialPort.writeHex(address); SerialPort.write(")") }
        SerialPort.write("\n")
        backtrace(from: CPU.framePointer, rip: nil)
        footer()
    }

    /// The shell's `panic`: a write to an address no core maps, so the page-fault
    /// report shows every part of the panic output.
    static func deliberateFault() -> Never {
        let unmapped = UnsafeMutablePointer<UInt64>(bitPattern: UInt(0x0000_7FFF_DEAD_0000))!
        unmapped.pointee = 0x5EA
        stop(reason: "deliberate fault did not fault")
    }
}
