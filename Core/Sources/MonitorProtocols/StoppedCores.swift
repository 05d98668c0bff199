// A core that stops for good: its kernel panicked, and the last thing its panic path did
// was tell every other kernel so (KernelMessage.stopping), which each hands to its
// monitor. Nothing runs on that core any more, so nothing it held can be used by it:
// every monitor applies the same change to its replica, and what waited on the core
// stops waiting.
//
//   - requests waiting on its monitor are answered `noSuchCore` now, not at their
//     timeout, and new ones are refused at once;
//   - its domains leave the domain table (ended `stopped`), and the names they owned
//     are released by their homes, as at any end;
//   - a spanned domain of this core no longer counts on it: its end needs no answer from
//     there (its dispatchers there will never run again), and one whose end already
//     waits on it has its memory released once the other cores answered;
//   - dispatchers here of a domain whose home stopped are stopped: their domain is gone.
//
// What a core that stops without saying so costs is unchanged: requests time out, and a
// spanned domain's memory stays held (Spans.swift). The notice is trusted only from the
// core itself (the kernel's link tells who sent it), so no core can stop another's work.
import ABI
import Basics

extension Monitor {
    /// Core `stopped` stopped for good (this core's kernel heard it from that core).
    public mutating func coreStopped(_ stopped: CoreID) -> [MonitorEffect] {
        guard stopped.rawValue >= 0, stopped.rawValue < coreCount, stopped != core, !stoppedCores.contains(stopped) else {
            counters.badSender += 1
            return []
        }
        stoppedCores.insert(stopped, at: stoppedCores.firstIndex { $0.rawValue > stopped.rawValue } ?? stoppedCores.count)
        for request in pending where request.peer == stopped { answer(request.request, .failed(.noSuchCore)) }
        pending.removeAll { $0.peer == stopped }
        abandonedSpawns.removeAll { $0.target == stopped }
        assemblies.removeAll { $0.asker == stopped }
        var i = 0
        while i < domains.count {
            let domain = domains[i].id
            guard domain.core == stopped else { i += 1; continue }
            domains.remove(at: i)
            remember(domain, ended: .stopped)
            homeReleasesNames(of: domain)
        }
        for index in spanHomes.indices { spanHomes[index].cores.removeAll { $0 == stopped } }
        var released: [SpanHome] = []
        for index in unspanning.indices { unspanning[index].cores.removeAll { $0 == stopped } }
        unspanning.removeAll { home in
            guard home.cores.isEmpty else { return false }
            released.append(home)
            return true
        }
        for home in released { effects.append(.releaseSpanned(home.domain)) }
        for guest in spanGuests where guest.home.core == stopped { effects.append(.killLocally(guest.local)) }
        // Its own unspans need no answer any more: the home that would read it is gone.
        unspansAnswering.removeAll { $0.core == stopped }
        return takeEffects()
    }

    /// Whether core `other` said it stopped for good.
    public func hasStopped(_ other: CoreID) -> Bool { stoppedCores.contains(other) }
}
