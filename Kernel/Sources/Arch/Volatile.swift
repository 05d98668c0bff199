// Loads and stores the compiler may not remove or reorder, for the boot hand-off
// (the one cross-core exchange that is not a channel).
import X86

public enum Volatile {
    public static func load(_ pointer: UnsafePointer<UInt64>) -> UInt64 { x86_volatile_load64(pointer) }
    public static func store(_ value: UInt64, to pointer: UnsafeMutablePointer<UInt64>) { x86_volatile_store64(pointer, value) }
}
