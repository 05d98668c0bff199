// Fuzzes the knowledge base's decoding: the input is what a monitor assembled from the
// pieces core 0's monitor sent (or what the kernel copied out).

import Basics
import FuzzSupport
import KnowledgeBase

@_cdecl("LLVMFuzzerTestOneInput")
func fuzzKnowledgeBase(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Array(input(data, size).bytes)
    let base: KnowledgeBase
    do throws(KnowledgeDecodingError) {
        base = try KnowledgeBase(decoding: bytes)
    } catch {
        return 0
    }
    require(base.encoded() == bytes, "decoding is canonical")
    require(base.cores.count <= KnowledgeEncoding.maximumCores, "core count within the limit")
    require(zip(base.cores, base.cores.dropFirst()).allSatisfy { $0.core < $1.core }, "cores ascending")
    require(base.cores.allSatisfy { $0.core.rawValue < base.latency.count }, "every core in the matrix")
    _ = base.reportLines
    return 0
}

runLibFuzzer(fuzzKnowledgeBase)
