// lwIP's loop interface on a channel link (httpd's and loopback's): lwIP writes each
// frame straight into the link's ring through these two callbacks.
import LwIP

public enum LwIPOverChannel {
    /// The link lwIP's interface writes into. (A C function pointer cannot capture; a
    /// type's static property can be reached from one.)
    nonisolated(unsafe) public static var link: ChannelLink?

    public static func attach(_ link: ChannelLink) {
        Self.link = link
        let reserve: swordfish_loop_reserve = { length in LwIPOverChannel.link?.reserve(length) }
        let commit: swordfish_loop_commit = { length in LwIPOverChannel.link?.commit(length) }
        swordfish_loop_attach(reserve, commit)
    }
}
