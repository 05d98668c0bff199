// The knowledge base: every monitor holds a replica of the one core 0's kernel built at
// boot (docs/monitors.md, "Knowledge base").
//
// One writer, the source (`Configuration.knowledgeSource`, core 0), which pushes the
// base once, and a pull for whoever missed it: in Barrelfish, too, the facts live with
// one server (the SKB) and a client that lacks them asks it; here each monitor asks
// until it holds its own copy, and then never needs to ask again.
//
//   guest → S   publishKnowledge(base)   (S's monitor got it from its kernel)
//   S → all     knowledgeHeader(generation, byte count, checksum), then the encoded
//               base in knowledgePiece(generation, index, ≤ 48 bytes) pieces, numbered
//               from 0, back to back on each ring
//   R           assembles the pieces in order; when the count is reached and the
//               checksum and the decoding agree, installs the replica
//   R → S       knowledgeRequest, while R has no replica, every `requestTimeout` ticks
//               after it last heard anything of the base (so never while a copy is
//               still arriving)
//   S → R       the header and every piece again (if S has a base; otherwise nothing,
//               and R asks again later)
//
// A ring is FIFO and pieces go back to back, so a correct stream arrives in order; a
// piece that does not continue the stream being assembled means the stream was cut, and
// the assembly is dropped (R asks again). Generations grow from 1 with each publish:
// a header or piece for a generation the replica already has is what a repeated answer
// looks like (R asked twice) and is counted as stale, not as bad.
//
// Dropped and counted: anything about the base from a core other than the source, a
// request at a monitor that is not the source, a piece out of place, an assembly whose
// checksum or decoding fails (`badKnowledge`); a header or piece for a generation this
// replica has (`staleKnowledge`, expected after a repeated request).
import Basics
import KnowledgeBase

/// A monitor's copy of the knowledge base: the bytes as the source encoded them, and
/// the base they decode to.
public struct KnowledgeReplica: Equatable, Sendable {
    public let generation: KnowledgeGeneration
    public let bytes: [UInt8]
    public let base: KnowledgeBase

    /// What the guest checks compare: `KnowledgeEncoding.digest` of the bytes.
    public var digest: UInt64 { KnowledgeEncoding.digest(bytes) }
}

/// A copy arriving in pieces.
struct KnowledgeAssembly: Sendable {
    var generation: KnowledgeGeneration
    var byteCount: Int
    var checksum: UInt64
    var bytes: [UInt8]
    var nextPiece: Int { bytes.count / MonitorMessage.knowledgeBytesPerPiece }
}

extension Monitor {
    /// True while this monitor should have a replica and has none: it must be ticked,
    /// since it asks the source again on a timeout.
    public var awaitsKnowledge: Bool {
        guard let source = configuration.knowledgeSource else { return false }
        return source != core && knowledge == nil && isValidCore(source)
    }

    // MARK: The source

    /// On the source: `base` is the knowledge base (the guest fetched it from the
    /// kernel). It becomes this replica's next generation and goes to every other
    /// monitor. Anywhere else, or for a base too large to encode (more than
    /// `KnowledgeEncoding.maximumCores`), the call is counted (`unknownLocalReports`)
    /// and ignored.
    public mutating func publishKnowledge(_ base: KnowledgeBase) -> [MonitorEffect] {
        let bytes = base.encoded()
        guard configuration.knowledgeSource == core, bytes.count <= MonitorMessage.maximumKnowledgeBytes else {
            counters.unknownLocalReports += 1
            return []
        }
        knowledge = KnowledgeReplica(generation: (knowledge?.generation ?? .none).next, bytes: bytes, base: base)
        for other in members where other != core { sendKnowledge(to: other) }
        return takeEffects()
    }

    mutating func sendKnowledge(to peer: CoreID) {
        guard let knowledge else { return }
        for message in MonitorMessage.knowledgeMessages(generation: knowledge.generation, bytes: knowledge.bytes) {
            send(message, to: peer)
        }
    }

    mutating func sourceReceivesKnowledgeRequest(from sender: CoreID) {
        guard configuration.knowledgeSource == core else { return counters.badKnowledge += 1 }
        sendKnowledge(to: sender)
    }

    // MARK: A replica

    /// True if `sender` may send the base here; counts it otherwise.
    mutating func isKnowledgeSource(_ sender: CoreID) -> Bool {
        guard let source = configuration.knowledgeSource, sender == source, source != core else {
            counters.badKnowledge += 1
            return false
        }
        return true
    }

    /// True if the replica has `generation` already; counts it as stale then.
    mutating func hasKnowledge(_ generation: KnowledgeGeneration) -> Bool {
        guard let knowledge, generation <= knowledge.generation else { return false }
        counters.staleKnowledge += 1
        return true
    }

    mutating func replicaReceivesKnowledgeHeader(generation: KnowledgeGeneration, byteCount: Int, checksum: UInt64, from sender: CoreID) {
        guard isKnowledgeSource(sender), !hasKnowledge(generation) else { return }
        // A stream cut short before this one started: its pieces will not come.
        if knowledgeAssembly != nil { counters.badKnowledge += 1 }
        knowledgeAssembly = KnowledgeAssembly(generation: generation, byteCount: byteCount, checksum: checksum, bytes: [])
        knowledgeHeard = now
    }

    mutating func replicaReceivesKnowledgePiece(generation: KnowledgeGeneration, index: Int, bytes: [UInt8], from sender: CoreID) {
        guard isKnowledgeSource(sender), !hasKnowledge(generation) else { return }
        guard var assembly = knowledgeAssembly, assembly.generation == generation, assembly.nextPiece == index,
              bytes.count <= assembly.byteCount - assembly.bytes.count,
              bytes.count == MonitorMessage.knowledgeBytesPerPiece || assembly.bytes.count + bytes.count == assembly.byteCount
        else {
            counters.badKnowledge += 1
            knowledgeAssembly = nil
            return
        }
        assembly.bytes += bytes
        knowledgeHeard = now
        guard assembly.bytes.count == assembly.byteCount else {
            knowledgeAssembly = assembly
            return
        }
        knowledgeAssembly = nil
        guard KnowledgeEncoding.digest(assembly.bytes) == assembly.checksum,
              let base = try? KnowledgeBase(decoding: assembly.bytes) else {
            counters.badKnowledge += 1
            return
        }
        knowledge = KnowledgeReplica(generation: generation, bytes: assembly.bytes, base: base)
    }

    /// From `tick`: a replica still missing after `requestTimeout` ticks of silence is
    /// asked for again.
    mutating func askForKnowledgeIfSilent() {
        guard awaitsKnowledge, let source = configuration.knowledgeSource,
              now >= knowledgeHeard.advanced(by: configuration.requestTimeout) else { return }
        knowledgeHeard = now
        send(.knowledgeRequest, to: source)
    }
}
