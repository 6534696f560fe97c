import Testing
import TidemarkCore

/// SPEC §14 values: period labels, statistical markers, label text as people type it, the returns'
/// identifiers, and calendar years.
@Suite struct PeriodTests {
    @Test(arguments: [
        (PeriodKind.year, nil as String?, "2025", "2025-12-31"), (.year, "09-30", "2024", "2024-09-30"),
        (.year, "03-31", " 2025 ", "2025-03-31"), (.year, "02-29", "2025", "2025-02-28"), (.year, "02-29", "2024", "2024-02-29"),
        (.financial_year, nil, "202425", "2025-03-31"), (.financial_year, nil, "2024-25", "2025-03-31"),
        (.financial_year, nil, "2024/25", "2025-03-31"), (.financial_year, nil, "1999-00", "2000-03-31"),
        (.financial_year, nil, "2024-2025", "2025-03-31"), (.financial_year, "06-30", "202425", "2025-06-30"),
        (.academic_year, nil, "202425", "2025-08-31"), (.academic_year, nil, "2024/25", "2025-08-31"),
        (.quarter, nil, "2025Q1", "2025-03-31"), (.quarter, nil, "2025 Q2", "2025-06-30"), (.quarter, nil, "2025-q4", "2025-12-31"),
        (.month, nil, "2025-03", "2025-03-31"), (.month, nil, "202502", "2025-02-28"), (.month, nil, "March 2025", "2025-03-31"),
        (.month, nil, "Mar-25", "2025-03-31"), (.month, nil, "feb 2024", "2024-02-29"), (.month, nil, "Sept 2025", "2025-09-30"),
    ])
    func periodLabelsAreDatedByTheirLastDay(kind: PeriodKind, end: String?, text: String, date: String) {
        #expect(PeriodRule(kind: kind, end: end.flatMap { MonthDay($0) }).date(text)?.description == date)
    }

    @Test(arguments: [
        (PeriodKind.year, "25"), (.year, "20255"), (.year, "2025Q1"), (.year, ""), (.financial_year, "2025"),
        (.financial_year, "2024-26"), (.financial_year, "202426"), (.financial_year, "2024_25"), (.quarter, "2025Q5"),
        (.quarter, "2025Q"), (.quarter, "Q1 2025"), (.month, "2025-13"), (.month, "Smarch 2025"), (.month, "Mar-2"),
        (.month, "2025"), (.academic_year, "x"),
    ])
    func otherFormsAreNotPeriods(kind: PeriodKind, text: String) {
        #expect(PeriodRule(kind: kind).date(text) == nil)
    }

    @Test func periodEndsAreMonthAndDay() {
        #expect(MonthDay("09-30")?.description == "09-30")
        #expect(MonthDay("02-30") == nil && MonthDay("13-01") == nil && MonthDay("9-30") == nil && MonthDay("0930") == nil)
    }
}

@Suite struct MarkerTests {
    @Test func theGSSSymbolsAreReadInTheirPlainAndBracketedFormsIgnoringCaseAndSpaces() {
        let t = MarkerTable.official
        for (text, meaning) in [("c", "suppressed"), ("[c]", "suppressed"), (" C ", "suppressed"), ("[ x ]", "unavailable"),
                                ("z", "not_applicable"), ("[u]", "low_reliability"), ("low", "rounds_to_zero"),
                                ("[LOW]", "rounds_to_zero"), (":", "unavailable"), ("..", "unavailable")] {
            #expect(t.marker(text)?.meaning == meaning, "\(text)")
            #expect(t.marker(text)?.text == text.trimmingCharacters(in: [" "]), "\(text)")
        }
        for text in ["", "cc", "[c", "c]", "n/a", "-", "0", "suppressed", "[]"] { #expect(t.marker(text) == nil, "\(text)") }
        #expect(MarkerTable.none.marker("c") == nil)
        #expect(MarkerTable(["n/a": "unavailable"]).marker("[N/A]")?.meaning == "unavailable")
    }
}

@Suite struct LabelTextTests {
    @Test func labelsAreTrimmedAndSpaceRunsBecomeOneSpace() {
        #expect(normaliseLabelValue("Petra\u{a0}Wills") == "Petra Wills")
        #expect(normaliseLabelValue("  Petra \t\u{a0} Wills  ") == "Petra Wills")
        #expect(normaliseLabelValue("Petra\u{202f}Wills") == "Petra Wills")
        #expect(normaliseLabelValue("South\nwest") == "South\nwest", "a line break typed into a quoted field is kept")
        #expect(normaliseLabelValue("North") == "North" && normaliseLabelValue("") == "")
        #expect(!needsNormalising(Array("Team North".utf8)) && needsNormalising(Array("Team  North".utf8))
            && needsNormalising(Array(" North".utf8)) && needsNormalising(Array("North ".utf8)))
    }

    @Test func identifiersAreComparedIgnoringCaseSpacesUnderscoresAndHyphens() {
        let p = PrivacySettings()
        for name in ["Child Unique ID", "child_unique_id", "CHILD", "LAchildID", "Former UPN", "former-upn", "PersonBirthDate",
                     "HOME_POST", "PL_POST", "placement postcode", "Expected DOB", "Family identifier", "ULN", "Full Name"] {
            #expect(p.isIdentifier(name), "\(name)")
        }
        for name in ["team", "la_name", "region_name", "legal_status", "worker_id", "Gender"] { #expect(!p.isIdentifier(name), "\(name)") }
    }

    @Test func namesMadeFromColumnsAreValid() {
        #expect(suggestedName(for: "3_months_or_less", prefix: "cpp") == "cpp_3_months_or_less")
        #expect(suggestedName(for: "Team Name", prefix: "x") == "team_name")
        #expect(suggestedName(for: "% agency (FTE)", prefix: "x") == "agency_fte")
        #expect(isValidMetricName(suggestedName(for: "2_years_or_more_percent", prefix: "m")))
        #expect(!isValidMetricName("3_months_or_less") && isValidMetricName("_x") && !isValidLabelName("a-b"))
    }
}

@Suite struct CalendarYearTests {
    @Test func yearsAreCalendarYearsInAsOfArithmetic() throws {
        let year = try #require(TimeSpan.parse("1y"))
        #expect(year.years == 1 && year.description == "1y" && TimeSpan.parse("2y30d")?.description == "2y30d")
        func before(_ date: String, _ span: String) -> String {
            let parts = date.split(separator: "-").map { Int($0)! }
            let a = AsOf(year: parts[0], month: parts[1], day: parts[2])!
            return AsOf(seconds: a.seconds(before: TimeSpan.parse(span)!), hasTime: false).description
        }
        #expect(before("2025-03-31", "1y") == "2024-03-31")
        #expect(before("2024-02-29", "1y") == "2023-02-28")
        #expect(before("2025-09-30", "13y") == "2012-09-30")
        #expect(before("2025-03-31", "1y1d") == "2024-03-30")
        #expect(before("2025-03-31", "28d") == "2025-03-03")
        #expect(TimeSpan.parse("1y")! > TimeSpan.parse("364d")!)
    }
}
