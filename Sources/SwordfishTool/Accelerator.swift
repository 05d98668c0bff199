/// How QEMU executes guest code.
public enum Accelerator: String, Sendable, CaseIterable {
    /// QEMU's own translator, one host thread per virtual CPU.
    case tcg
    /// The host kernel's KVM.
    case kvm
}

/// What the user asked for with `--accel`.
public enum AcceleratorRequest: String, Sendable, CaseIterable {
    /// KVM where it is hardware, TCG everywhere else.
    case auto
    case tcg
    case kvm
}

/// The facts about the host that decide whether KVM is worth using.
///
/// `/dev/kvm` alone is not enough: some machines serve it from a software virtualiser
/// (`kvm_pvm`) under which a bare-metal guest runs two orders of magnitude slower than
/// under TCG. Hardware KVM shows up as the `kvm_intel` or `kvm_amd` module.
public struct HostProbe: Sendable {
    /// Whether a path exists; replaced in tests by a fake file system.
    public var pathExists: @Sendable (String) -> Bool

    public init(pathExists: @escaping @Sendable (String) -> Bool) {
        self.pathExists = pathExists
    }

    public var hasHardwareKVM: Bool {
        pathExists("/dev/kvm")
            && (pathExists("/sys/module/kvm_intel") || pathExists("/sys/module/kvm_amd"))
    }
}

/// The accelerator chosen for a request on a host, and a warning when the choice is
/// the user's and likely a poor one.
public struct AcceleratorChoice: Equatable, Sendable {
    public var accelerator: Accelerator
    public var warning: String?

    public init(accelerator: Accelerator, warning: String? = nil) {
        self.accelerator = accelerator
        self.warning = warning
    }

    public init(for request: AcceleratorRequest, on host: HostProbe) {
        switch request {
        case .auto:
            self.init(accelerator: host.hasHardwareKVM ? .kvm : .tcg)
        case .tcg:
            self.init(accelerator: .tcg)
        case .kvm where host.hasHardwareKVM:
            self.init(accelerator: .kvm)
        case .kvm:
            let why = host.pathExists("/dev/kvm")
                ? "/dev/kvm is not hardware KVM here (neither kvm_intel nor kvm_amd is loaded); the guest may run very slowly"
                : "there is no /dev/kvm here; QEMU will likely refuse to start"
            self.init(accelerator: .kvm, warning: "--accel kvm: \(why)")
        }
    }
}
