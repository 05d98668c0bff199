// Builds ACPI fixture tables byte by byte, computing lengths and checksums, so each
// test states only what it changes from a valid table.

import Basics
import CoreTestSupport

enum TableBuilder {
    /// Makes `bytes` sum to zero by setting the byte at `checksumOffset`.
    static func fixChecksum(_ bytes: inout [UInt8], at checksumOffset: Int, over range: Range<Int>? = nil) {
        bytes[checksumOffset] = 0
        var sum: UInt8 = 0
        for byte in bytes[range ?? bytes.indices] { sum &+= byte }
        bytes[checksumOffset] = 0 &- sum
    }

    /// A §5.2.6 table: header with `signature`, the right length and checksum, then `body`.
    static func table(_ signature: String, revision: UInt8 = 1, body: [UInt8]) -> [UInt8] {
        var bytes = Array(signature.utf8)
        bytes.appendLittleEndian(UInt32(36 + body.count))
        bytes.append(revision)
        bytes.append(0)  // checksum
        bytes += Array("SWFISH".utf8)
        bytes += Array("TESTTABL".utf8)
        bytes.appendLittleEndian(UInt32(1))  // OEM revision
        bytes += Array("SWFT".utf8)
        bytes.appendLittleEndian(UInt32(1))  // creator revision
        bytes += body
        fixChecksum(&bytes, at: 9)
        return bytes
    }

    /// A §5.2.5.3 RSDP; revision 2 and later carry `xsdt` and the extended checksum.
    static func rsdp(revision: UInt8, rsdt: UInt32, xsdt: UInt64 = 0) -> [UInt8] {
        var bytes = Array("RSD PTR ".utf8)
        bytes.append(0)  // checksum
        bytes += Array("SWFISH".utf8)
        bytes.append(revision)
        bytes.appendLittleEndian(rsdt)
        if revision >= 2 {
            bytes.appendLittleEndian(UInt32(36))
            bytes.appendLittleEndian(xsdt)
            bytes += [0, 0, 0, 0]  // extended checksum, reserved
            fixChecksum(&bytes, at: 8, over: 0..<20)
            fixChecksum(&bytes, at: 32)
        } else {
            fixChecksum(&bytes, at: 8)
        }
        return bytes
    }

    static func rsdt(_ pointers: [UInt32]) -> [UInt8] {
        var body: [UInt8] = []
        for pointer in pointers { body.appendLittleEndian(pointer) }
        return table("RSDT", body: body)
    }

    static func xsdt(_ pointers: [UInt64]) -> [UInt8] {
        var body: [UInt8] = []
        for pointer in pointers { body.appendLittleEndian(pointer) }
        return table("XSDT", body: body)
    }

    static func madt(localAPIC: UInt32 = 0xFEE0_0000, flags: UInt32 = 1, entries: [[UInt8]]) -> [UInt8] {
        var body: [UInt8] = []
        body.appendLittleEndian(localAPIC)
        body.appendLittleEndian(flags)
        for entry in entries { body += entry }
        return table("APIC", revision: 5, body: body)
    }

    // §5.2.12 interrupt controller structures.

    static func localAPIC(uid: UInt8, apicID: UInt8, flags: UInt32 = 1) -> [UInt8] {
        var bytes: [UInt8] = [0, 8, uid, apicID]
        bytes.appendLittleEndian(flags)
        return bytes
    }

    static func ioAPIC(id: UInt8, address: UInt32, gsiBase: UInt32) -> [UInt8] {
        var bytes: [UInt8] = [1, 12, id, 0]
        bytes.appendLittleEndian(address)
        bytes.appendLittleEndian(gsiBase)
        return bytes
    }

    static func localAPICOverride(address: UInt64) -> [UInt8] {
        var bytes: [UInt8] = [5, 12, 0, 0]
        bytes.appendLittleEndian(address)
        return bytes
    }

    static func x2APIC(x2apicID: UInt32, uid: UInt32, flags: UInt32 = 1) -> [UInt8] {
        var bytes: [UInt8] = [9, 16, 0, 0]
        bytes.appendLittleEndian(x2apicID)
        bytes.appendLittleEndian(flags)
        bytes.appendLittleEndian(uid)
        return bytes
    }

    static func interruptSourceOverride(bus: UInt8 = 0, source: UInt8, gsi: UInt32, flags: UInt16 = 0) -> [UInt8] {
        var bytes: [UInt8] = [2, 10, bus, source]
        bytes.appendLittleEndian(gsi)
        bytes.appendLittleEndian(flags)
        return bytes
    }

    /// A QEMU-like machine: RSDP v2 at 0xE0000, XSDT at 0x1000 naming a FACP-like
    /// table and the MADT, RSDT at 0x2000 naming the same.
    static let rsdpAddress: UInt64 = 0xE_0000
    static let xsdtAddress: UInt64 = 0x1000
    static let rsdtAddress: UInt64 = 0x2000
    static let otherTableAddress: UInt64 = 0x3000
    static let madtAddress: UInt64 = 0x4000

    static let standardMADT = madt(entries: [
        localAPIC(uid: 0, apicID: 0),
        localAPIC(uid: 1, apicID: 1),
        ioAPIC(id: 0, address: 0xFEC0_0000, gsiBase: 0),
        interruptSourceOverride(source: 0, gsi: 2),
        x2APIC(x2apicID: 0x100, uid: 2),
    ])

    static func standardMachineContents(madt: [UInt8] = standardMADT) -> [UInt64: [UInt8]] {
        [
            rsdpAddress: rsdp(revision: 2, rsdt: UInt32(rsdtAddress), xsdt: xsdtAddress),
            xsdtAddress: xsdt([otherTableAddress, madtAddress]),
            rsdtAddress: rsdt([UInt32(otherTableAddress), UInt32(madtAddress)]),
            otherTableAddress: table("FACP", body: [UInt8](repeating: 0, count: 100)),
            madtAddress: madt,
        ]
    }

    static func standardMachine(madt: [UInt8] = standardMADT) -> FixtureMemory {
        FixtureMemory(standardMachineContents(madt: madt))
    }
}
