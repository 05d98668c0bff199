import XCTest
@testable import PageTables

final class PageTablesPlaceholderTests: XCTestCase {}
