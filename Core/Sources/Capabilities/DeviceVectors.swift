// Which vector a device interrupt gets on a core, and whether it may have one: the
// CPU driver's rule for both kinds of connection (an ISA line through the I/O APIC, a
// message-signalled interrupt straight to the local APIC), kept here, free of hardware,
// so the host tests it. An IRQ is delivered at most once on a core, whichever way: a
// second connection of it, either kind, is refused; vectors are this core's own and
// are handed out lowest first from the device range.

import ABI

public enum DeviceVectors {
    /// The vectors device interrupts get: above the legacy PIC's (32–47, masked) and
    /// below the CPU driver's own (248 up).
    public static let range: Range<UInt8> = 48 ..< 248

    /// The vector a new connection of `irq` gets, given the IRQs connected on this core
    /// and the vectors in use: `alreadyConnected` if `irq` is one of them, `noFreeVector`
    /// if every vector of the range is taken.
    public static func allocate(for irq: UInt8, connected: [UInt8], inUse: [UInt8]) -> Result<UInt8, InvocationStatus> {
        guard !connected.contains(irq) else { return .failure(.alreadyConnected) }
        var taken = [Bool](repeating: false, count: 256)
        for vector in inUse { taken[Int(vector)] = true }
        guard let vector = range.first(where: { !taken[Int($0)] }) else { return .failure(.noFreeVector) }
        return .success(vector)
    }
}
