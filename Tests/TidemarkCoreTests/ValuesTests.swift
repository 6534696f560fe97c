import Testing
import TidemarkCore
import TidemarkCrypto

@Suite struct TimeSpanTests {
    @Test(arguments: [
        ("500ms", 500), ("30s", 30_000), ("5m", 300_000), ("2h", 7_200_000), ("7d", 604_800_000),
        ("2w", 1_209_600_000), ("1h30m", 5_400_000), ("1d12h", 129_600_000), ("0", 0), ("1m500ms", 60_500),
    ] as [(String, Int64)])
    func parsesOperatorDurations(text: String, ms: Int64) {
        #expect(TimeSpan.parse(text)?.milliseconds == ms)
    }

    @Test(arguments: ["", "5", "5x", "m5", "30m1h", "1h1h", "1.5h", "-5m", "5 m", "99999999999999999999s",
                      "15250284w106751991167d" /* each unit fits, their sum overflows: found by the bad-input corpus */])
    func rejectsMalformedDurations(text: String) {
        #expect(TimeSpan.parse(text) == nil)
    }

    @Test func printsCanonicalForm() {
        #expect(TimeSpan.parse("90m")?.description == "1h30m")
        #expect(TimeSpan.parse("2w")?.description == "14d")
        #expect(TimeSpan.parse("1500ms")?.description == "1s500ms")
        #expect(TimeSpan.zero.description == "0s")
    }
}

@Suite struct ThresholdTests {
    @Test func parsesEveryOperator() throws {
        for (text, op, value) in [("> 22", ComparisonOperator.greater, 22.0), (">=15.5", .greaterOrEqual, 15.5),
                                  ("< 90", .less, 90), ("<= -3", .lessOrEqual, -3), ("== 0", .equal, 0), ("!= 1", .notEqual, 1)] {
            let t = try #require(Threshold.parse(text), "\(text)")
            #expect(t.op == op)
            #expect(t.value == value)
        }
    }

    @Test(arguments: ["22", "> ", "=> 3", ">> 3", "> twenty", "> 1e400", "~ 3"])
    func rejectsMalformedThresholds(text: String) {
        #expect(Threshold.parse(text) == nil)
    }

    @Test func evaluatesAndPrints() {
        let t = Threshold.parse(">= 15")!
        #expect(t.holds(for: 15))
        #expect(!t.holds(for: 14.9))
        #expect(t.description == ">= 15")
        #expect(Threshold.parse("> 53.3")!.description == "> 53.3")
    }
}

@Suite struct BusinessHoursTests {
    @Test func weekdayWindow() throws {
        let h = try BusinessHours.parse("Mon-Fri 08:00-18:00").get()
        #expect(h.contains(weekday: .monday, minuteOfDay: 8 * 60))
        #expect(!h.contains(weekday: .monday, minuteOfDay: 18 * 60))
        #expect(!h.contains(weekday: .saturday, minuteOfDay: 10 * 60))
        // Friday 18:00 → Monday 08:00 is 62 hours.
        #expect(h.minutesUntilOpen(weekday: .friday, minuteOfDay: 18 * 60) == 62 * 60)
        #expect(h.minutesUntilOpen(weekday: .tuesday, minuteOfDay: 9 * 60) == 0)
    }

    @Test func severalWindowsAndOvernight() throws {
        let h = try BusinessHours.parse("Mon-Fri 18:00-08:00, Sat 09:00-12:00").get()
        #expect(h.contains(weekday: .monday, minuteOfDay: 23 * 60))
        #expect(h.contains(weekday: .tuesday, minuteOfDay: 7 * 60))
        #expect(h.contains(weekday: .saturday, minuteOfDay: 7 * 60)) // Friday night runs into Saturday
        #expect(h.contains(weekday: .saturday, minuteOfDay: 10 * 60))
        #expect(!h.contains(weekday: .sunday, minuteOfDay: 10 * 60))
        #expect(!h.contains(weekday: .monday, minuteOfDay: 7 * 60)) // Sunday night is not a window
    }

    @Test func wrapsWeekRangesAndAllowsTimeOnly() throws {
        let weekend = try BusinessHours.parse("Sat-Sun").get()
        #expect(weekend.contains(weekday: .sunday, minuteOfDay: 0))
        #expect(!weekend.contains(weekday: .monday, minuteOfDay: 600))
        let daily = try BusinessHours.parse("09:00-17:00").get()
        #expect(daily.contains(weekday: .sunday, minuteOfDay: 9 * 60))
        let friToMon = try BusinessHours.parse("Fri-Mon 00:00-24:00").get()
        #expect(friToMon.contains(weekday: .sunday, minuteOfDay: 1439))
        #expect(!friToMon.contains(weekday: .wednesday, minuteOfDay: 600))
    }

    @Test(arguments: ["Mon-Fry 08:00-18:00", "Mon-Fri 8-18", "Mon-Fri 08:00-25:00", "Mon-Fri 08:00-08:00",
                      "Mon-Fri 08:00-18:00 extra", "", "Mon-Fri 08:60-18:00"])
    func rejectsMalformedWindows(text: String) {
        if case .success = BusinessHours.parse(text) { Issue.record("accepted \(text)") }
    }
}

@Suite struct SecretTests {
    @Test func neverPrints() {
        let s = Secret("hunter2-very-secret")
        #expect("\(s)" == "<redacted>")
        #expect(String(describing: s) == "<redacted>")
        #expect(String(reflecting: s) == "<redacted>")
        struct Holder { let password: Secret }
        #expect(!String(describing: Holder(password: s)).contains("hunter2"))
        #expect(!String(reflecting: [s]).contains("hunter2"))
        #expect(s.reveal() == "hunter2-very-secret")
    }

    @Test func redactsURLPathsAndCredentials() {
        #expect(redactedURL("https://outlook.office.com/webhook/abc/IncomingWebhook/def?sig=1") == "https://outlook.office.com/<redacted>")
        #expect(redactedURL("https://user:pw@host:8443/x") == "https://host:8443/<redacted>")
        #expect(redactedURL("https://host") == "https://host")
        #expect(redactedURL("not a url") == "<redacted>")
    }
}

@Suite struct DigestTests {
    @Test func sha256KnownVectors() {
        #expect(sha256Hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(sha256Hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func sha256Incremental() {
        let h = SHA256Hasher()
        h.update(Array("a".utf8))
        h.update(Array("bc".utf8))
        #expect(h.finalizeHex() == sha256Hex("abc"))
    }

    @Test func hmacRFC4231Case2() {
        #expect(hmacSHA256Hex(key: Array("Jefe".utf8), message: Array("what do ya want for nothing?".utf8))
            == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }

    /// The reader feeds the hasher in buffer-sized pieces; any split gives the one-shot digest (FIPS 180-2's
    /// million-`a` vector, fed unevenly).
    @Test func sha256OfAMillionAFedInUnevenPieces() {
        let h = SHA256Hasher()
        var left = 1_000_000
        var piece = 1
        while left > 0 {
            let n = min(piece, left)
            h.update([UInt8](repeating: UInt8(ascii: "a"), count: n))
            left -= n
            piece = piece * 3 + 7
        }
        #expect(h.finalizeHex() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }
}
