// A core that stops for good: its kernel panicked, and the last thing its panic path did
// was tell every other kernel so (KernelMessage.stopping), which each hands to its
// monitor. Nothing runs on that core any more, so nothing it held can be used by it:
// every monitor applies the same change to its replica, and what waited on the core
// stops waiting.
//
//   - requests waiting on its monitor are answered `noSuchCore` now, not at their
//     timeout, and new ones are refused at once;
//   - its domains leave the domain table (ended `stopped`), and the names they owned
//     leave the name table: every replica drops them on its own notice, and each
//     name's home also releases it to all, as at any end, so that a replica that has
//     not had its notice yet sees the release before any new grant of the name (a
//     grant to the stopped core's domain that arrives after the notice is ignored).
//     The names whose home it was go too, since what it granted last may have reached
//     some replicas only; they cannot be registered again (their home is gone);
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
        for record in domains where record.id.core == stopped {
            remember(record.id, ended: .stopped)
            // As at any end, the home of each of its names releases it to every replica,
            // on the same ring as any grant of the name that follows.
            homeReleasesNames(of: record.id)
        }
        domains.removeAll { $0.id.core == stopped }
        // Every replica drops them on its own notice too (the home's release then finds
        // nothing, and is counted stale). Names whose home stopped go as well: what it
        // granted last reached some replicas only, and it can grant or release nothing
        // more (registering one is refused).
        let members = members
        names.removeAll { $0.owner.core == stopped || $0.name.home(among: members) == stopped }
        for index in spanHomes.indices { spanHomes[index].cores.removeAll { $0 == stopped } }
        for index in unspanning.indices { unspanning[index].cores.removeAll { $0 == stopped } }
        for home in unspanning where home.cores.isEmpty { effects.append(.releaseSpanned(home.domain)) }
        unspanning.removeAll { $0.cores.isEmpty }
        for guest in spanGuests where guest.home.core == stopped { effects.append(.killLocally(guest.local)) }
        // Its own unspans need no answer any more: the home that would read it is gone.
        unspansAnswering.removeAll { $0.core == stopped }
        return takeEffects()
    }

    /// Whether core `other` said it stopped for good.
    public func hasStopped(_ other: CoreID) -> Bool { stoppedCores.contains(other) }
}
