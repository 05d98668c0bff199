// The lines entered before, for Up and Down. Bounded: past `limit` entries the oldest
// goes. Browsing starts below the newest entry, at the line being typed, which is kept
// aside while Up shows older lines and comes back when Down goes past the newest.

struct History {
    let limit: Int
    private(set) var entries: [[UInt8]] = []
    /// The entry the line shows, or `entries.count` for the line being typed.
    private(set) var position = 0
    /// The line being typed when browsing started.
    private var draft: [UInt8] = []

    init(limit: Int) { self.limit = max(limit, 0) }

    /// Adds an entered line (not an empty one, nor the newest one again) and ends browsing.
    mutating func record(_ line: [UInt8]) {
        if !line.isEmpty, line != entries.last, limit > 0 {
            if entries.count == limit { entries.removeFirst() }
            entries.append(line)
        }
        stopBrowsing()
    }

    mutating func stopBrowsing() {
        position = entries.count
        draft.removeAll()
    }

    /// The entry before the one shown, if there is one; `current` is the line as it
    /// stands, kept if it is the line being typed.
    mutating func older(than current: [UInt8]) -> [UInt8]? {
        guard position > 0 else { return nil }
        if position == entries.count { draft = current }
        position -= 1
        return entries[position]
    }

    /// The entry after the one shown, or the line being typed after the newest; nil
    /// when not browsing.
    mutating func newer() -> [UInt8]? {
        guard position < entries.count else { return nil }
        position += 1
        return position == entries.count ? draft : entries[position]
    }
}
