// The kernel's services for capabilities that cross cores (KernelServices.swift), fed
// what a confused or hostile monitor could pass: each must be refused with its own
// status and change nothing (no capability made, no frame taken).
import ABI
import Basics
import Capabilities
import GuestChecks
import Memory

extension SelfTests {
    static func sharedObjectServices(_ state: CoreState) -> String? {
        guard let id = state.monitorDomain, let monitor = state.domains.first(where: { $0.id == id }) else { return "no monitor" }
        guard let ownPage = state.share.first?.start.rawValue else { return "no share" }
        // Root slot 48 of the monitor is empty; the kernel capability's slot is full.
        let empty = CapabilityAddress.root(48), full = CapabilityAddress.root(InitialSlot.kernel)
        guard (try? state.capabilities.identify(empty, in: monitor.cspace))?.isNull == true else { return "slot 48 of the monitor is in use" }
        let cases: [(Invocation, InvocationStatus, String)] = [
            (.describe(slot: empty, buffer: 0x1000), .slotEmpty, "describe of an empty slot"),
            (.describe(slot: full, buffer: 0x1000), .badBuffer, "describe into an unmapped buffer"),
            (.adopt(type: .cnode, base: 0x1000_0000, size: 4096, destination: empty), .wrongType, "adopt of a CNode"),
            (.adopt(type: .frame, base: ownPage, size: 4096, destination: empty), .regionInUse, "adopt of this core's own memory"),
            (.adopt(type: .frame, base: state.channelArea, size: 4096, destination: empty), .regionInUse, "adopt of the kernels' links"),
            (.adopt(type: .frame, base: 0x100_0000_0800, size: 4096, destination: empty), .misaligned, "adopt of an unaligned frame"),
            (.adopt(type: .frame, base: UInt64.max - 4095, size: 8192, destination: empty), .regionExhausted, "adopt past the top of memory"),
            (.adopt(type: .frame, base: 0x1000_0000, size: 0, destination: empty), .regionExhausted, "adopt of nothing"),
            (.adopt(type: .deviceFrame, base: ownPage, size: 4096, destination: empty), .outsideRange, "adopt of this core's RAM as a device frame"),
            (.adopt(type: .deviceFrame, base: state.channelArea, size: 4096, destination: empty), .outsideRange, "adopt of the kernels' links as a device frame"),
            (.adopt(type: .deviceFrame, base: UInt64.max - 4095, size: 8192, destination: empty), .regionExhausted, "adopt of a device frame past the top"),
            (.adopt(type: .ioPortRange, base: 0xFFF0, size: 0x20, destination: empty), .regionExhausted, "adopt of ports past 65,535"),
            (.adopt(type: .ioPortRange, base: 0xC000, size: 0, destination: empty), .regionExhausted, "adopt of no ports"),
            (.adopt(type: .irq, base: 1 << 32, size: 1, destination: empty), .regionExhausted, "adopt of an interrupt past its space"),
            (.adopt(type: .notify, base: 0, size: 1, destination: empty), .wrongType, "adopt of a notify capability"),
            (.markShared(slot: empty, shared: true), .slotEmpty, "markShared of an empty slot"),
            (.markShared(slot: .root(InitialSlot.ram), shared: false), .regionInUse, "unmarking RAM with descendants"),
            (.sweep(slot: empty), .slotEmpty, "sweep of an empty slot"),
            (.retypeShared(slot: full, size: 4096, offset: 0, destination: empty), .retypeNotAllowed, "retypeShared of the kernel capability"),
            (.grantMemory(bytes: 12_345, destination: empty), .sizeNotAllowed, "grantMemory of a size not a power of two"),
            (.grantMemory(bytes: 1 << 40, destination: empty), .sizeNotAllowed, "grantMemory of a TiB"),
            (.grantMemory(bytes: 4096, destination: full), .slotOccupied, "grantMemory into a full slot"),
        ]
        let capabilitiesBefore = state.capabilities
        for (invocation, expected, what) in cases {
            // Frames are counted around each service alone: between them the kernel's
            // heap may give a page back, which is no refused service keeping one.
            let before = CoreBlock.current!.pointee.frames.freeFrames
            let (status, _) = state.performKernelService(invocation, for: monitor)
            guard status == expected else { return "\(what) answered \(status), not \(expected)" }
            let after = CoreBlock.current!.pointee.frames.freeFrames
            guard after == before else { return "\(what) changed the free frames from \(before) to \(after)" }
        }
        guard state.capabilities == capabilitiesBefore else { return "a refused service changed the capability database" }
        return nil
    }
}
