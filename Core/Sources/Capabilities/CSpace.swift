/// A domain's capability space on this core: its root CNode. The kernel keeps one per
/// domain; the CNodes themselves, and every capability in them, live in the core's
/// `CoreCapabilities`, because delete and revoke reach across domains.
public struct CSpace: Hashable, Sendable {
    /// The root CNode.
    public var root: ObjectID
    public init(root: ObjectID) { self.root = root }
}
