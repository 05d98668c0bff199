// Which cores Swordfish starts, and which CoreID each gets. The bootstrap core is
// already running, so it is core 0 whatever the MADT says; the others follow in MADT
// order. Firmware that lists a core twice, or a broken MADT, must cost cores, never
// the boot: the kernel prints `notes` and carries on with what is listed here.

import Basics

/// Something about the MADT that changed the core list, for the kernel to print.
public enum CoreListNote: Equatable, Sendable {
    /// The MADT could not be read; only the bootstrap core runs.
    case madtUnavailable(ACPIError)
    /// The MADT does not list the bootstrap core's APIC ID (it runs anyway).
    case bootstrapNotInMADT(APICID)
    /// An enabled processor repeats an APIC ID already taken; the repeat is skipped.
    case duplicateAPICID(APICID)
    /// Processors not marked enabled (absent, or hot-plug slots) that were not started.
    case disabledProcessorsSkipped(count: Int)
    /// Enabled processors left out because the list already had `limit` cores.
    case coresOverLimit(dropped: Int, limit: Int)

    /// A sentence the kernel can print without reflection.
    public var message: StaticString {
        switch self {
        case .madtUnavailable: "cores: MADT unavailable, starting the bootstrap core only"
        case .bootstrapNotInMADT: "cores: bootstrap APIC ID is missing from the MADT; APIC ID"
        case .duplicateAPICID: "cores: MADT lists an APIC ID twice, skipped; APIC ID"
        case .disabledProcessorsSkipped: "cores: disabled processors not started; count"
        case .coresOverLimit: "cores: processors over the core limit not started; count"
        }
    }

    /// The number that goes with `message`, if any (for `.madtUnavailable`, print the
    /// error's own message and detail).
    public var detail: UInt64? {
        switch self {
        case .madtUnavailable: nil
        case .bootstrapNotInMADT(let id), .duplicateAPICID(let id): UInt64(id.rawValue)
        case .disabledProcessorsSkipped(let count): UInt64(count)
        case .coresOverLimit(let dropped, _): UInt64(dropped)
        }
    }
}

public struct CoreList: Equatable, Sendable {
    /// APIC ID of each core; the index is the `CoreID`, and index 0 is the bootstrap core.
    public var apicIDs: [APICID]
    public var notes: [CoreListNote]

    public init(apicIDs: [APICID], notes: [CoreListNote]) {
        self.apicIDs = apicIDs
        self.notes = notes
    }

    public var count: Int { apicIDs.count }

    /// The APIC ID of `core`, or nil if there is no such core.
    public func apicID(of core: CoreID) -> APICID? {
        apicIDs.indices.contains(core.rawValue) ? apicIDs[core.rawValue] : nil
    }

    /// Core 0 is `bootstrap`; then each enabled processor in MADT order, skipping the
    /// bootstrap's own entry and repeated APIC IDs, up to `limit` cores in all (a
    /// `limit` below 1 counts as 1). Only `isEnabled` processors are started: an
    /// online-capable but disabled entry is an empty hot-plug slot.
    public static func make(madt: Result<MADT, ACPIError>, bootstrap: APICID, limit: Int) -> CoreList {
        let limit = max(1, limit)
        let processors: [MADT.Processor]
        switch madt {
        case .failure(let error):
            return CoreList(apicIDs: [bootstrap], notes: [.madtUnavailable(error)])
        case .success(let table):
            processors = table.processors
        }

        let repeated = repeatedEntries(processors)
        var notes: [CoreListNote] = []
        var apicIDs = [bootstrap]
        var bootstrapListed = false
        var disabled = 0
        var dropped = 0
        for (index, processor) in processors.enumerated() {
            if processor.apicID == bootstrap {
                if bootstrapListed && processor.isEnabled { notes.append(.duplicateAPICID(bootstrap)) }
                bootstrapListed = true
            } else if !processor.isEnabled {
                disabled += 1
            } else if repeated[index] {
                notes.append(.duplicateAPICID(processor.apicID))
            } else if apicIDs.count >= limit {
                dropped += 1
            } else {
                apicIDs.append(processor.apicID)
            }
        }

        if !bootstrapListed { notes.insert(.bootstrapNotInMADT(bootstrap), at: 0) }
        if disabled > 0 { notes.append(.disabledProcessorsSkipped(count: disabled)) }
        if dropped > 0 { notes.append(.coresOverLimit(dropped: dropped, limit: limit)) }
        return CoreList(apicIDs: apicIDs, notes: notes)
    }

    /// For each processor, whether an earlier enabled processor has the same APIC ID.
    /// Sorting keeps this O(n log n) however long a hostile MADT is.
    private static func repeatedEntries(_ processors: [MADT.Processor]) -> [Bool] {
        var order = processors.indices.filter { processors[$0].isEnabled }
        order.sort { a, b in
            let idA = processors[a].apicID.rawValue, idB = processors[b].apicID.rawValue
            return idA != idB ? idA < idB : a < b
        }
        var repeated = [Bool](repeating: false, count: processors.count)
        for position in order.indices.dropFirst()
        where processors[order[position]].apicID == processors[order[position - 1]].apicID {
            repeated[order[position]] = true
        }
        return repeated
    }
}
