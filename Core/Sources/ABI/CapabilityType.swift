// The capability types, as numbers user code and the kernel agree on. What each type
// may be retyped from, its sizes and rights live in the kernel's capability rules
// (Core/Sources/Capabilities/CapabilityType+Rules.swift), one row per case here.

/// The kind of object a capability names.
public enum CapabilityType: UInt8, CaseIterable, Hashable, Sendable {
    /// No object: what an empty slot holds. Never created by any operation.
    case null = 0
    /// Untyped physical RAM. Holds no object yet; retyping carves objects out of it.
    case physicalRAM
    /// RAM that user code may map into its address space.
    case frame
    /// Device memory (MMIO) that a driver may map. Never RAM, so never cleared.
    case deviceFrame
    /// A table of capability slots: a level of some domain's CSpace.
    case cnode
    /// An x86-64 page-map level 4 table (what CR3 points to).
    case pml4
    /// An x86-64 page-directory-pointer table.
    case pdpt
    /// An x86-64 page directory.
    case pageDirectory
    /// An x86-64 page table.
    case pageTable
    /// A dispatcher: the page a domain shares with its core's kernel (upcall entries,
    /// the disabled flag, save areas; Kernel/Sources/CPUDriver/Dispatcher.swift).
    case dispatcher
    /// A same-core message endpoint (LMP).
    case endpoint
    /// A range of interrupt numbers whose interrupts the holder may receive.
    case irq
    /// A range of x86 I/O ports the holder may access with `in`/`out`.
    case ioPortRange
    /// Authority over this core's kernel. Held by the monitor only.
    case kernel
    /// The right to send notification IPIs to a range of cores.
    case notify
}

extension CapabilityType {
    /// The bytes of one CNode slot, as charged against the RAM a CNode is retyped from
    /// (what a program needs to size the RAM for a CNode).
    public static let cnodeSlotBytes: UInt64 = 64
}
