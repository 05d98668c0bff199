// Fuzzes the network driver's frame reader: the input is a received Ethernet frame.

import Basics
import FuzzSupport
import Network

@_cdecl("LLVMFuzzerTestOneInput")
func fuzzFrames(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let frame = Array(input(data, size).bytes)
    do throws(FrameError) {
        if case .echoReply(_, _, _, _, let echoed) = try Frames.parse(frame) {
            // The echoed data lies inside the frame, after at least the three headers.
            require(echoed.count + 14 + 20 + 8 <= frame.count, "an echo's data lies inside the frame")
        }
    } catch {}
    return 0
}

runLibFuzzer(fuzzFrames)
