// The dispatcher's disabled flag, as the library uses it: set around everything that
// must not be cut in two by a run upcall (the scheduler, the heap, the console buffer).
// Nesting is by saving the previous value, not by counting.
import UserRuntimeC

enum Dispatcher {
    /// Sets the flag; returns whether it was set already.
    @inline(__always) static func disable() -> Bool {
        let was = user_is_disabled() != 0
        user_set_disabled(1)
        return was
    }

    /// Clears the flag, unless it was set before the matching `disable`.
    @inline(__always) static func restore(_ wasDisabled: Bool) {
        if !wasDisabled { user_set_disabled(0) }
    }
}
