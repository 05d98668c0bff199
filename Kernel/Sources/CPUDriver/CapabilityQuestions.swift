// The capability questions of the system-call paths, asked of the core's database in
// place. A method called on the stored property `capabilities` runs on a copy of the
// whole value: the compiler cannot prove that nothing writes the property during the
// call, so it copies it, retaining each of its arrays and releasing them afterwards,
// about 450 instructions for every capability an invocation names (docs/benchmarks.md,
// "Path lengths"). Passed `inout`, the value is used where it lies.
import ABI
import Capabilities

extension CoreState {
    /// `CoreCapabilities.lookup`, in place.
    func lookup(_ address: CapabilityAddress, in cspace: CSpace, ofType types: CapabilityTypeSet? = nil,
                requiring rights: CapabilityRights = []) throws(CapabilityError) -> (Capability, ObjectID) {
        try Self.lookup(address, in: cspace, ofType: types, requiring: rights, &capabilities)
    }

    /// `CoreCapabilities.identify`, in place.
    func identify(_ address: CapabilityAddress, in cspace: CSpace) throws(CapabilityError) -> Capability {
        try Self.identify(address, in: cspace, &capabilities)
    }

    /// `CoreCapabilities.isAlive`, in place.
    func isAlive(_ object: ObjectID) -> Bool { Self.isAlive(object, &capabilities) }

    private static func lookup(_ address: CapabilityAddress, in cspace: CSpace, ofType types: CapabilityTypeSet?,
                               requiring rights: CapabilityRights,
                               _ capabilities: inout CoreCapabilities) throws(CapabilityError) -> (Capability, ObjectID) {
        try capabilities.lookup(address, in: cspace, ofType: types, requiring: rights)
    }

    private static func identify(_ address: CapabilityAddress, in cspace: CSpace,
                                 _ capabilities: inout CoreCapabilities) throws(CapabilityError) -> Capability {
        try capabilities.identify(address, in: cspace)
    }

    private static func isAlive(_ object: ObjectID, _ capabilities: inout CoreCapabilities) -> Bool { capabilities.isAlive(object) }
}
