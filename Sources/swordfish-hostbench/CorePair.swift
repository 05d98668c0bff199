// Two CPUs of this machine and the means to run one side of a benchmark on each. The
// measuring (initiating) side is the main thread, pinned once; each benchmark starts a
// fresh responder thread pinned to the other CPU and joins it before the next one, so
// no benchmark's thread is left spinning while another runs.
import Glibc
import HostBenchSupport

struct CorePair {
    var initiator: Int32
    var responder: Int32
    var sameCPU: Bool { initiator == responder }

    /// The first two CPUs this process may use, or the only CPU twice on a one-CPU host.
    static func allowed() -> CorePair {
        var cpus = [Int32](repeating: 0, count: 2)
        let count = hostbench_allowed_cpus(&cpus, 2)
        if count <= 0 { return CorePair(initiator: 0, responder: 0) }
        return CorePair(initiator: cpus[0], responder: count > 1 ? cpus[1] : cpus[0])
    }

    /// Pins the calling thread to the initiator's CPU for the rest of the run.
    func pinInitiator() {
        Self.pin(to: initiator, role: "the main thread")
    }

    /// Pins the calling thread to `cpu` and checks that it runs there.
    static func pin(to cpu: Int32, role: String) {
        let error = hostbench_pin_current_thread(cpu)
        if error != 0 { fail("cannot pin \(role) to CPU \(cpu): errno \(error)") }
        let running = hostbench_current_cpu()
        if running != cpu { fail("\(role) runs on CPU \(running) after pinning to CPU \(cpu)") }
    }

    /// Runs `responder` on a new thread pinned to the responder's CPU and `initiator`
    /// on the calling thread; returns the initiator's result once both have finished.
    func run<Result>(initiator: () -> Result, responder: @escaping () -> Void) -> Result {
        let cpu = self.responder
        let thread = PinnedThread.start {
            Self.pin(to: cpu, role: "the responder")
            responder()
        }
        let result = initiator()
        thread.join()
        return result
    }
}

/// A POSIX thread running a Swift closure. (Foundation's Thread would do, but the
/// benchmark stays on Glibc alone.)
struct PinnedThread {
    private final class Body {
        let run: () -> Void
        init(_ run: @escaping () -> Void) { self.run = run }
    }

    private let thread: pthread_t

    static func start(_ body: @escaping () -> Void) -> PinnedThread {
        let context = Unmanaged.passRetained(Body(body)).toOpaque()
        var thread = pthread_t()
        let error = pthread_create(&thread, nil, { context in
            Unmanaged<Body>.fromOpaque(context!).takeRetainedValue().run()
            return nil
        }, context)
        if error != 0 { fail("pthread_create failed: errno \(error)") }
        return PinnedThread(thread: thread)
    }

    func join() {
        pthread_join(thread, nil)
    }
}

/// Memory for lines that the two threads share: page-aligned, zeroed. Each user of it
/// takes 128-byte blocks so that no two lines with different writers sit in the same
/// pair that the adjacent-line prefetcher fetches together.
final class SharedMemory {
    let base: UnsafeMutableRawPointer
    let bytes: Int

    init(bytes: Int) {
        self.bytes = (bytes + 4095) / 4096 * 4096
        base = UnsafeMutableRawPointer.allocate(byteCount: self.bytes, alignment: 4096)
        base.initializeMemory(as: UInt8.self, repeating: 0, count: self.bytes)
    }

    deinit { base.deallocate() }
}

/// Stops the benchmark: something that cannot happen in a correct run did.
func fail(_ message: String, status: Int32 = 1) -> Never {
    var text = "swordfish-hostbench: \(message)\n"
    text.withUTF8 { _ = write(STDERR_FILENO, $0.baseAddress, $0.count) }
    exit(status)
}
