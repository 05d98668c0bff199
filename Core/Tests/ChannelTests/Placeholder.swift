import XCTest
@testable import Channel

final class ChannelPlaceholderTests: XCTestCase {}
