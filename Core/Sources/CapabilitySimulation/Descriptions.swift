// Short descriptions for traces (host only: the guest never prints these).
import Basics
import CapabilityProtocols

extension CapabilityMessage: CustomStringConvertible {
    public var description: String {
        func t(_ ticket: CapabilityTicket) -> String { "#\(ticket.rawValue)" }
        switch self {
        case .copyRequest(let ticket, let o, let to, let domain): return "copyRequest \(t(ticket)) \(describe(o)) to \(to.rawValue).\(domain)"
        case .copyDeliver(let ticket, let o, let epoch, let domain): return "copyDeliver \(t(ticket)) \(describe(o)) @\(epoch.rawValue) for \(domain)"
        case .copyInstalled(let ticket, let status): return "copyInstalled \(t(ticket)) \(status)"
        case .copyDeleted(let o): return "copyDeleted \(describe(o))"
        case .retypeRequest(let ticket, let o, let count): return "retypeRequest \(t(ticket)) \(describe(o)) into \(count)"
        case .retypeDone(let ticket, let status): return "retypeDone \(t(ticket)) \(status)"
        case .revokeRequest(let ticket, let o, let keep): return "revokeRequest \(t(ticket)) \(describe(o)) keep r\(keep.rawValue)"
        case .revokeMark(let ticket, let o, let root, let targets): return "revokeMark \(root.rawValue)\(t(ticket)) \(describe(o)) targets \(targets.cores.map(\.rawValue))"
        case .revokeReady(let ticket, let root): return "revokeReady \(root.rawValue)\(t(ticket))"
        case .revokeCommit(let ticket, let o, let root, _, let keepCore, let keep):
            return "revokeCommit \(root.rawValue)\(t(ticket)) \(describe(o)) keep \(keepCore.map { "\($0.rawValue).r\(keep.rawValue)" } ?? "none")"
        case .revokeDone(let ticket, let root): return "revokeDone \(root.rawValue)\(t(ticket))"
        case .moveOwnership(let ticket, let o, let copies, let descendants, let epoch):
            return "moveOwnership \(t(ticket)) \(describe(o)) @\(epoch.rawValue) copies \(copies.cores.map(\.rawValue)) descendants \(descendants.cores.map(\.rawValue))"
        case .moveAnswer(let ticket, let accepted): return "moveAnswer \(t(ticket)) \(accepted)"
        case .ownerChanged(let o, let epoch): return "ownerChanged \(describe(o)) @\(epoch.rawValue)"
        case .requestAnswer(let ticket, let status, let epoch): return "requestAnswer \(t(ticket)) \(status)\(epoch.map { " owner @\($0.rawValue)" } ?? "")"
        }
    }
}
