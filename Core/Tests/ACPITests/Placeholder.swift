import XCTest
@testable import ACPI

final class ACPIPlaceholderTests: XCTestCase {}
