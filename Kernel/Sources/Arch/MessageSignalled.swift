// Message-signalled interrupts on x86 (Intel SDM Vol. 3A §11.11): a device raises one by
// writing `data` to `address`. The address lies in the local APICs' window at
// 0xFEE00000 and names the destination APIC in bits 12–19 (physical destination mode,
// no redirection hint); the data holds the vector in bits 0–7 with fixed delivery and
// edge trigger (the other bits clear). The interrupt then comes to that core as if its
// local APIC had been sent the vector: no I/O APIC takes part, so any core can take one.
import Basics

public enum MessageSignalled {
    static let window: UInt32 = 0xFEE0_0000

    /// The address and data that deliver `vector` to the core whose APIC ID is
    /// `destination`; nil for an ID the 8-bit destination field cannot name (a core
    /// only x2APIC's extended destinations reach).
    public static func message(vector: UInt8, to destination: APICID) -> (address: UInt32, data: UInt32)? {
        guard destination.rawValue < 256, vector >= 16 else { return nil }
        return (window | destination.rawValue << 12, UInt32(vector))
    }
}
