// The rules of each capability type (the types themselves are numbered in the ABI).
//
// Everything the rest of the module (and the kernel) needs to know about a type lives in
// one row of the table in `rules`: what its base and size count, which sizes it may
// have, what it can be retyped from, which rights mean something for it, whether it can
// carry a badge, and how it takes part in address translation. The operations read only
// this table, so adding a type means adding a case and a row; the retype-matrix test
// (written independently) then fails until its own expectations get the new row too.

extension CapabilityType {
    /// The bytes of a page and of one page-table level's table.
    public static let pageBytes: UInt64 = 4096

    /// Everything this module knows about the type: one row per type.
    public var rules: CapabilityTypeRules {
        let page = Self.pageBytes
        let largestBlock: UInt64 = 1 << 51
        switch self {
        case .null:
            return CapabilityTypeRules(space: .none, size: .none, retypedFrom: [], rights: [])
        case .physicalRAM:
            return CapabilityTypeRules(space: .physicalMemory,
                                       size: .powerOfTwo(minimum: page, maximum: largestBlock),
                                       retypedFrom: [.physicalRAM], rights: [])
        case .frame:
            return CapabilityTypeRules(space: .physicalMemory,
                                       size: .multiple(of: page, maximum: largestBlock),
                                       retypedFrom: [.physicalRAM, .frame],
                                       rights: [.read, .write, .execute], mapping: .page)
        case .deviceFrame:
            return CapabilityTypeRules(space: .physicalMemory,
                                       size: .multiple(of: page, maximum: largestBlock),
                                       retypedFrom: [.deviceFrame],
                                       rights: [.read, .write, .execute], mapping: .page)
        case .cnode:
            return CapabilityTypeRules(space: .physicalMemory,
                                       size: .slots(minimum: 16, maximum: 1 << 16,
                                                    bytesPerSlot: Self.cnodeSlotBytes),
                                       retypedFrom: [.physicalRAM], rights: [])
        case .pml4:
            return CapabilityTypeRules(space: .physicalMemory, size: .fixed(page),
                                       retypedFrom: [.physicalRAM], rights: [.write],
                                       mapping: .table(level: 4))
        case .pdpt:
            return CapabilityTypeRules(space: .physicalMemory, size: .fixed(page),
                                       retypedFrom: [.physicalRAM], rights: [.write],
                                       mapping: .table(level: 3))
        case .pageDirectory:
            return CapabilityTypeRules(space: .physicalMemory, size: .fixed(page),
                                       retypedFrom: [.physicalRAM], rights: [.write],
                                       mapping: .table(level: 2))
        case .pageTable:
            return CapabilityTypeRules(space: .physicalMemory, size: .fixed(page),
                                       retypedFrom: [.physicalRAM], rights: [.write],
                                       mapping: .table(level: 1))
        case .dispatcher:
            // The page a domain's dispatcher shares with the kernel.
            return CapabilityTypeRules(space: .physicalMemory, size: .fixed(page),
                                       retypedFrom: [.physicalRAM], rights: [.write])
        case .endpoint:
            return CapabilityTypeRules(space: .physicalMemory, size: .fixed(256),
                                       retypedFrom: [.physicalRAM],
                                       rights: [.read, .write, .grant], isBadgeable: true)
        case .irq:
            return CapabilityTypeRules(space: .interrupts, size: .units,
                                       retypedFrom: [.irq], rights: [.read, .write])
        case .ioPortRange:
            return CapabilityTypeRules(space: .ioPorts, size: .units,
                                       retypedFrom: [.ioPortRange], rights: [.read, .write])
        case .kernel:
            return CapabilityTypeRules(space: .none, size: .none, retypedFrom: [], rights: [])
        case .notify:
            return CapabilityTypeRules(space: .cores, size: .units,
                                       retypedFrom: [.notify], rights: [.read, .write],
                                       isBadgeable: true)
        }
    }

    /// The page-table level a VNode type installs into, nil for everything else
    /// (a PML4 is installed in CR3 through its dispatcher, not in another table).
    public var installsInto: CapabilityType? {
        switch self {
        case .pdpt: .pml4
        case .pageDirectory: .pdpt
        case .pageTable: .pageDirectory
        default: nil
        }
    }
}
