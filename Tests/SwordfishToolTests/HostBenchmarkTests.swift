import Foundation
import XCTest
@testable import SwordfishTool

/// `swordfish bench channel` on canned benchmark output: decoding, ratios, goals, the
/// table and the JSON. No timings are taken.
final class HostBenchmarkTests: XCTestCase {
    /// The shape `swordfish-hostbench` prints, with round figures.
    static let canned = """
        {
          "tsc_mhz": 2600.0,
          "cpus": [0, 1],
          "same_cpu": false,
          "quick": false,
          "rows": [
            {"name": "channel", "rounds": 100000, "median_cycles": 390, "p99_cycles": 520, "min_cycles": 130, "trimmed_mean_cycles": 384.5, "median_ns": 150.0, "p99_ns": 200.0, "throughput_msgs_per_s": 35000000, "msgs_per_kcycle": 13.46, "ring_slots": 63},
            {"name": "cacheline-floor", "rounds": 100000, "median_cycles": 312, "p99_cycles": 364, "min_cycles": 104, "trimmed_mean_cycles": 310.1, "median_ns": 120.0, "p99_ns": 140.0},
            {"name": "pipe", "rounds": 20000, "median_cycles": 117000, "p99_cycles": 215800, "min_cycles": 10946, "trimmed_mean_cycles": 120000.0, "median_ns": 45000.0, "p99_ns": 83000.0},
            {"name": "eventfd", "rounds": 20000, "median_cycles": 124800, "p99_cycles": 210054, "min_cycles": 15288, "trimmed_mean_cycles": 130000.0, "median_ns": 48000.0, "p99_ns": 80790.0},
            {"name": "futex", "rounds": 20000, "median_cycles": 95758, "p99_cycles": 158470, "min_cycles": 546, "trimmed_mean_cycles": 99000.0, "median_ns": 36830.0, "p99_ns": 60950.0},
            {"name": "unix-socket", "rounds": 20000, "median_cycles": 107952, "p99_cycles": 256932, "min_cycles": 23374, "trimmed_mean_cycles": 110000.0, "median_ns": 41520.0, "p99_ns": 98820.0}
          ]
        }
        """

    func analysis(_ text: String = canned) throws -> HostBenchmarkAnalysis {
        HostBenchmarkAnalysis(try HostBenchmarkReport(json: Data(text.utf8)))
    }

    func testDecodesTheBenchmarkOutput() throws {
        let report = try analysis().report
        XCTAssertEqual(report.tscMegahertz, 2600)
        XCTAssertEqual(report.cpus, [0, 1])
        XCTAssertFalse(report.sameCPU)
        XCTAssertEqual(report.quick, false)
        XCTAssertNil(report.note)
        XCTAssertEqual(report.rows.map(\.name), ["channel", "cacheline-floor", "pipe", "eventfd", "futex", "unix-socket"])
        let channel = try XCTUnwrap(report.row("channel"))
        XCTAssertEqual(channel.medianCycles, 390)
        XCTAssertEqual(channel.p99Cycles, 520)
        XCTAssertEqual(channel.medianNanoseconds, 150)
        XCTAssertEqual(channel.throughputPerSecond, 35_000_000)
        XCTAssertEqual(channel.messagesPerKilocycle, 13.46)
        XCTAssertEqual(channel.ringSlots, 63)
        XCTAssertNil(try XCTUnwrap(report.row("pipe")).throughputPerSecond)
    }

    func testOnlyTheRequiredFieldsAreRequired() throws {
        let report = try analysis("""
            {"tsc_mhz": 3000, "cpus": [2, 5], "same_cpu": false,
             "rows": [{"name": "channel", "median_cycles": 300, "p99_cycles": 400, "median_ns": 100}]}
            """).report
        XCTAssertEqual(report.rows, [HostBenchmarkReport.Row(name: "channel", medianCycles: 300, p99Cycles: 400, medianNanoseconds: 100)])
        XCTAssertNil(report.quick)
    }

    func testOutputThatIsNotTheReportIsAnError() {
        for text in ["", "swordfish-hostbench: cannot pin", #"{"tsc_mhz": 1, "cpus": [0, 1]}"#,
                     #"{"tsc_mhz": 1, "cpus": [0], "same_cpu": false, "rows": [{"name": "x"}]}"#] {
            XCTAssertThrowsError(try HostBenchmarkReport(json: Data(text.utf8)), text) { error in
                guard case HostBenchmarkError.unreadableOutput = error else { return XCTFail("\(error)") }
                XCTAssertTrue("\(error)".hasPrefix("swordfish-hostbench printed something that is not its report"))
            }
        }
    }

    func testRatios() throws {
        let analysis = try analysis()
        let rows = analysis.report.rows
        XCTAssertEqual(try XCTUnwrap(analysis.ratioToFloor(rows[0])), 390.0 / 312, accuracy: 1e-9)
        XCTAssertEqual(analysis.ratioToFloor(rows[1]), 1)
        XCTAssertNil(analysis.ratioToFloor(rows[2]), "Linux rows are compared with the channel, not the floor")
        XCTAssertNil(analysis.timesChannel(rows[0]))
        XCTAssertNil(analysis.timesChannel(rows[1]))
        XCTAssertEqual(try XCTUnwrap(analysis.timesChannel(rows[2])), 117_000.0 / 390, accuracy: 1e-9)
        XCTAssertEqual(analysis.fastestLinux?.name, "futex")
    }

    func testGoalsMet() throws {
        let goals = try analysis().goals
        XCTAssertEqual(goals.count, 2)
        XCTAssertEqual(goals[0].goal, "channel round trip within 1.3x of the cache-line floor")
        XCTAssertEqual(goals[0].target, 1.3)
        XCTAssertEqual(try XCTUnwrap(goals[0].value), 1.25, accuracy: 1e-9)
        XCTAssertEqual(goals[0].met, true)
        XCTAssertEqual(goals[1].goal, "channel at least 20x faster than the fastest Linux primitive")
        XCTAssertEqual(goals[1].target, 20)
        XCTAssertEqual(try XCTUnwrap(goals[1].value), 95_758.0 / 390, accuracy: 1e-9)
        XCTAssertEqual(goals[1].met, true)
        XCTAssertEqual(goals[1].detail, "futex median / channel median")
    }

    func testGoalsNotMetAreFiguresNotFailures() throws {
        let slow = Self.canned
            .replacingOccurrences(of: #""median_cycles": 390"#, with: #""median_cycles": 5000"#)
        let goals = try analysis(slow).goals
        XCTAssertEqual(goals.map(\.met), [false, false])
        let table = try analysis(slow).table
        XCTAssertTrue(table.contains("goal: channel round trip within 1.3x of the cache-line floor: 16.0x (channel median / cacheline-floor median) — not met"), table)
        XCTAssertTrue(table.contains("goal: channel at least 20x faster than the fastest Linux primitive: 19.2x (futex median / channel median) — not met"), table)
    }

    func testGoalsWithoutTheirRowsAreNotJudged() throws {
        let analysis = try analysis("""
            {"tsc_mhz": 3000, "cpus": [0, 1], "same_cpu": false,
             "rows": [{"name": "channel", "median_cycles": 300, "p99_cycles": 400, "median_ns": 100}]}
            """)
        XCTAssertEqual(analysis.goals.map(\.met), [nil, nil])
        XCTAssertEqual(analysis.goals.map(\.value), [nil, nil])
        XCTAssertTrue(analysis.table.contains("goal: channel round trip within 1.3x of the cache-line floor: not measured in this run"))
    }

    func testTable() throws {
        let table = try analysis().table
        XCTAssertEqual(table, """
            Channel on host CPUs 0 and 1, TSC 2600.0 MHz, 100000 spinning / 20000 blocking rounds
            name             median cyc  p99 cyc  median ns  vs floor  vs channel
            channel                 390      520      150.0     1.25x       1.00x
            cacheline-floor         312      364      120.0     1.00x
            pipe                 117000   215800    45000.0                  300x
            eventfd              124800   210054    48000.0                  320x
            futex                 95758   158470    36830.0                  246x
            unix-socket          107952   256932    41520.0                  277x
            channel one-way throughput: 35.0 M msgs/s (13.46 msgs/kcycle)
            channel / floor by trimmed means (10th to 90th percentile), finer than the TSC's step: 1.24x
            goal: channel round trip within 1.3x of the cache-line floor: 1.25x (channel median / cacheline-floor median) — met
            goal: channel at least 20x faster than the fastest Linux primitive: 246x (futex median / channel median) — met

            """)
    }

    func testTableOnOneCPU() throws {
        let oneCPU = Self.canned
            .replacingOccurrences(of: #""cpus": [0, 1]"#, with: #""cpus": [0, 0]"#)
            .replacingOccurrences(of: #""same_cpu": false"#, with: #""same_cpu": true, "note": "one CPU""#)
            .replacingOccurrences(of: #""quick": false"#, with: #""quick": true"#)
        let lines = try analysis(oneCPU).table.split(separator: "\n")
        XCTAssertEqual(lines[0], "Channel on host both threads on CPU 0 (the host has one), TSC 2600.0 MHz, 100000 spinning / 20000 blocking rounds (quick)")
        XCTAssertEqual(lines[1], "note: one CPU")
        XCTAssertEqual(lines.last, "(one CPU: the spinning rows and so both goals describe timeslices, not the channel)")
    }

    func testJSONKeepsTheRowsAndAddsRatiosAndGoals() throws {
        let data = try analysis().json
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        XCTAssertEqual(object["tsc_mhz"] as? Double, 2600)
        XCTAssertEqual(object["cpus"] as? [Int], [0, 1])
        XCTAssertEqual(object["same_cpu"] as? Bool, false)
        let rows = try XCTUnwrap(object["rows"] as? [[String: Any]])
        XCTAssertEqual(rows.map { $0["name"] as? String }, ["channel", "cacheline-floor", "pipe", "eventfd", "futex", "unix-socket"])
        for row in rows {
            for key in ["name", "median_cycles", "p99_cycles", "median_ns"] {
                XCTAssertNotNil(row[key], "\(key) in \(row)")
            }
        }
        XCTAssertEqual(rows[0]["ratio_to_floor"] as? Double, 1.25)
        XCTAssertEqual(rows[0]["throughput_msgs_per_s"] as? Double, 35_000_000)
        XCTAssertNil(rows[0]["times_channel"])
        XCTAssertEqual(rows[1]["ratio_to_floor"] as? Double, 1)
        XCTAssertEqual(rows[2]["times_channel"] as? Double, 300)
        XCTAssertEqual(rows[4]["times_channel"] as? Double, 245.533, "three decimals")
        let goals = try XCTUnwrap(object["goals"] as? [[String: Any]])
        XCTAssertEqual(goals.map { $0["met"] as? Bool }, [true, true])
        XCTAssertEqual(goals[0]["value"] as? Double, 1.25)

        // What the tool writes, the tool can read back.
        let again = try HostBenchmarkReport(json: data)
        XCTAssertEqual(again, try analysis().report)
    }

    func testBuildAndRunCommands() {
        let build = HostBenchmarkBuild(repository: Repository(root: "/src/swordfish"))
        XCTAssertEqual(build.command.description,
                       "swift build --package-path /src/swordfish --scratch-path /src/swordfish/.build-release -c release --product swordfish-hostbench")
        XCTAssertEqual(HostBenchmarkBuild.runCommand(executable: "/b/swordfish-hostbench", quick: true).description,
                       "/b/swordfish-hostbench --quick")
        XCTAssertEqual(HostBenchmarkBuild.runCommand(executable: "/b/swordfish-hostbench", quick: false).arguments, [])
        XCTAssertEqual(Repository(root: "/r").hostBenchmarkResult, "/r/results/bench-channel.json")
    }

    func testBenchChannelOptions() throws {
        let plain = try XCTUnwrap(SwordfishCommand.parseAsRoot(["bench", "channel"]) as? BenchChannel)
        XCTAssertFalse(plain.quick)
        XCTAssertFalse(plain.json)
        XCTAssertNil(plain.repository.repo)
        let all = try XCTUnwrap(SwordfishCommand.parseAsRoot(["bench", "channel", "--quick", "--json", "--repo", "/x"]) as? BenchChannel)
        XCTAssertTrue(all.quick)
        XCTAssertTrue(all.json)
        XCTAssertEqual(all.repository.repo, "/x")
    }
}
