import XCTest
@testable import SwordfishTool

final class AcceleratorTests: XCTestCase {
    private func host(_ paths: Set<String>) -> HostProbe {
        HostProbe(pathExists: { paths.contains($0) })
    }

    private let bare = Set<String>()
    private let softwareKVM: Set<String> = ["/dev/kvm", "/sys/module/kvm", "/sys/module/kvm_pvm"]
    private let intel: Set<String> = ["/dev/kvm", "/sys/module/kvm", "/sys/module/kvm_intel"]
    private let amd: Set<String> = ["/dev/kvm", "/sys/module/kvm", "/sys/module/kvm_amd"]

    func testAutoPicksKVMOnlyWhereItIsHardware() {
        XCTAssertEqual(AcceleratorChoice(for: .auto, on: host(bare)), AcceleratorChoice(accelerator: .tcg))
        XCTAssertEqual(AcceleratorChoice(for: .auto, on: host(softwareKVM)), AcceleratorChoice(accelerator: .tcg))
        XCTAssertEqual(AcceleratorChoice(for: .auto, on: host(intel)), AcceleratorChoice(accelerator: .kvm))
        XCTAssertEqual(AcceleratorChoice(for: .auto, on: host(amd)), AcceleratorChoice(accelerator: .kvm))
    }

    func testAModuleWithoutTheDeviceIsNotKVM() {
        let choice = AcceleratorChoice(for: .auto, on: host(["/sys/module/kvm_intel"]))
        XCTAssertEqual(choice.accelerator, .tcg)
    }

    func testForcedTCGIsAlwaysTCG() {
        XCTAssertEqual(AcceleratorChoice(for: .tcg, on: host(intel)), AcceleratorChoice(accelerator: .tcg))
    }

    func testForcedKVMWarnsWithoutHardwareAndGoesOn() throws {
        let software = AcceleratorChoice(for: .kvm, on: host(softwareKVM))
        XCTAssertEqual(software.accelerator, .kvm)
        XCTAssertTrue(try XCTUnwrap(software.warning).contains("not hardware KVM"))

        let none = AcceleratorChoice(for: .kvm, on: host(bare))
        XCTAssertEqual(none.accelerator, .kvm)
        XCTAssertTrue(try XCTUnwrap(none.warning).contains("no /dev/kvm"))

        XCTAssertEqual(AcceleratorChoice(for: .kvm, on: host(intel)), AcceleratorChoice(accelerator: .kvm))
    }
}
