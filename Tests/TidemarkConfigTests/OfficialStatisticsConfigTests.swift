import Testing
import TidemarkConfig
import TidemarkCore

/// SPEC §14 keys: markers, periods, where/where_not, xlsx, renaming hints, shared directories.
@Suite struct OfficialStatisticsConfigTests {
    @Test func aColumnThatIsNotAMetricNameGetsTheExactLineToWrite() {
        let l = load("""
            sources:
              - name: cpp
                directory: /tmp
                values: [CPP_At31, 3_months_or_less, "2_years_or_more_percent"]
            \(minimalReceivers)
            """)
        #expect(l.errorLines == [
            #"4:24: sources[0].values[1]: column "3_months_or_less" is not a valid metric name; rename it with the mapping form: values: { CPP_At31: CPP_At31, cpp_3_months_or_less: "3_months_or_less", cpp_2_years_or_more_percent: "2_years_or_more_percent" }"#,
            #"4:42: sources[0].values[2]: column "2_years_or_more_percent" is not a valid metric name; rename it with the mapping form: values: { CPP_At31: CPP_At31, cpp_3_months_or_less: "3_months_or_less", cpp_2_years_or_more_percent: "2_years_or_more_percent" }"#,
        ])
        let fixed = load("""
            sources:
              - name: cpp
                directory: /tmp
                values: { CPP_At31: CPP_At31, cpp_3_months_or_less: "3_months_or_less" }
                labels: { team_name: "Team Name" }
            \(minimalReceivers)
            """)
        #expect(fixed.errorLines == [])
        guard case .wide(let labels, let values)? = fixed.configuration?.sources.first?.shape else { Issue.record("not wide"); return }
        #expect(values.map(\.column) == ["CPP_At31", "3_months_or_less"] && labels.map(\.column) == ["Team Name"])
    }

    @Test func markersPeriodsFiltersAndSheetsAreRead() throws {
        let l = load("""
            sources:
              - name: csww
                directory: /tmp
                format: xlsx
                xlsx: { sheet: "List 7", header_row: 3 }
                markers: { c: suppressed, "n/a": unavailable }
                where: { geographic_level: [National, Local authority], region_name: "" }
                where_not: { la_name: "Isles of Scilly" }
                as_of: { column: time_period, period: financial_year, period_end: "06-30" }
                values: [vacancy_rate_fte]
              - name: records
                directory: /tmp/r
                aggregate:
                  - { metric: n, op: count, where: { status: open }, where_not: { team: [Agency pool, ""] } }
            \(minimalReceivers)
            """)
        #expect(l.errorLines == [])
        let s = try #require(l.configuration?.sources.first)
        #expect(s.xlsx == XLSXOptions(sheet: "List 7", headerRow: 3))
        #expect(s.markers.marker("[N/A]")?.meaning == "unavailable" && s.markers.marker("x") == nil)
        #expect(s.rowFilter.keep == [ColumnFilter(column: "geographic_level", values: ["National", "Local authority"]),
                                     ColumnFilter(column: "region_name", values: [""])])
        #expect(s.rowFilter.drop == [ColumnFilter(column: "la_name", values: ["Isles of Scilly"])])
        #expect(s.asOf == .column("time_period", format: nil, period: PeriodRule(kind: .financial_year, end: MonthDay("06-30"))))
        guard case .records(let aggs)? = l.configuration?.sources.last?.shape else { Issue.record("not records"); return }
        #expect(aggs[0].exclude == [ColumnFilter(column: "team", values: ["Agency pool", ""])])
    }

    @Test func badOfficialStatisticsKeysAreClearErrors() {
        let l = load("""
            sources:
              - name: a
                directory: /tmp
                markers: { "": suppressed, "5": unavailable, c: "not a name" }
                as_of: { column: time_period, period: fortnight }
                values: [v]
              - name: b
                directory: /tmp
                as_of: { column: time_period, period_end: "03-31" }
                values: [v]
              - name: c
                directory: /tmp
                as_of: { column: time_period, period: month, period_end: "03-31" }
                values: [v]
              - name: d
                directory: /tmp
                as_of: { column: time_period, period: year, period_end: "31-03" }
                values: [v]
              - name: e
                directory: /tmp
                as_of: { column: time_period, period: quarter, format: "%Y" }
                values: [v]
              - name: f
                directory: /tmp
                where: { status: open }
                aggregate: [{ metric: n, op: count }]
              - name: g
                directory: /tmp
                format: csv
                xlsx: { sheet: x, header_row: 0 }
                values: [v]
            \(minimalReceivers)
            """)
        let messages = l.errors.map(\.message)
        #expect(messages.contains(#"marker "" must be a symbol, not empty and not a number"#))
        #expect(messages.contains(#"marker "5" must be a symbol, not empty and not a number"#))
        #expect(messages.contains(#"marker meaning "not a name" must be a name such as suppressed or not_applicable"#))
        #expect(messages.contains { $0.hasPrefix(#""fortnight" is not one of year | financial_year"#) })
        #expect(messages.contains(#""period_end" goes with "period""#))
        #expect(messages.contains(#""period_end" applies to year, financial_year and academic_year periods"#))
        #expect(messages.contains(#"invalid period_end "31-03": use MM-DD such as "09-30""#))
        #expect(messages.contains(#"period: quarter reads 2025Q1, 2025 Q1 or 2025-Q1; leave out "format""#))
        #expect(messages.contains(#""where" on a records source goes on each aggregate entry"#))
        #expect(messages.contains("0 is out of range (1…1048576)"))
        #expect(messages.contains(#""xlsx" options apply to format: xlsx only"#))
        #expect(l.errors.allSatisfy { $0.line != nil }, "every error has its line")
    }

    @Test func twoSourcesOnOneDirectoryMayNotMoveOrDeleteFiles() {
        let shared = load("""
            sources:
              - { name: list1, directory: /tmp/annex, xlsx: { sheet: "List 1" }, aggregate: [{ metric: a, op: count }] }
              - { name: list7, directory: /tmp/annex, xlsx: { sheet: "List 7" }, aggregate: [{ metric: b, op: count }], after: move }
            \(minimalReceivers)
            """)
        #expect(shared.errors.map(\.message) == [
            "source list7 shares /tmp/annex with list1; after: move would take files the other has still to read (use after: keep)",
        ])
        let kept = load("""
            sources:
              - { name: list1, directory: /tmp/annex, xlsx: { sheet: "List 1" }, aggregate: [{ metric: a, op: count }] }
              - { name: list7, directory: /tmp/annex/, xlsx: { sheet: "List 7" }, aggregate: [{ metric: b, op: count }] }
            \(minimalReceivers)
            """)
        #expect(kept.errorLines == [])
    }

    @Test func aReturnsIdentifierIsRefusedAsALabelWhateverItsSpelling() {
        for column in ["Child Unique ID", "LAchildID", "CHILD", "former_upn", "Placement postcode"] {
            let l = load("""
                sources:
                  - name: annex
                    directory: /tmp
                    aggregate: [{ metric: n, op: count, by: { who: "\(column)" } }]
                \(minimalReceivers)
                """)
            #expect(l.errors.map(\.message) == [
                "column \"\(column)\" is in privacy.identifier_columns: child-level identifiers never become labels",
            ], "\(column)")
        }
    }
}

/// SPEC §15 keys: groups, context, direction.
@Suite struct ContextConfigTests {
    @Test func groupsContextAndDirectionAreRead() throws {
        let l = load("""
            groups:
              neighbours: { label: la_name, members: [Bradford, "Kingston upon Hull, City of"] }
            sources:
              - { name: csww, directory: /tmp, values: [vacancy_rate_fte], labels: [la_name] }
            rules:
              - name: vacancy
                expr: vacancy_rate_fte{la_name=group("neighbours")}
                warn: "> 15"
                direction: higher_is_better
                context:
                  Neighbours (median): median(vacancy_rate_fte{la_name=group("neighbours")})
                  Last year: vacancy_rate_fte offset 1y
            \(minimalReceivers)
            """)
        #expect(l.errorLines == [])
        let c = try #require(l.configuration)
        #expect(c.groups["neighbours"] == PeerGroup(label: "la_name", members: ["Bradford", "Kingston upon Hull, City of"]))
        #expect(c.rules[0].direction == .higher_is_better)
        #expect(c.rules[0].context.map(\.name) == ["Neighbours (median)", "Last year"])
        #expect(c.rules[0].expression != nil && c.rules[0].context.allSatisfy { $0.expression != nil })
    }

    @Test func badContextKeysAreErrorsWithTheirLine() {
        let l = load("""
            groups:
              neighbours: { label: la_name, members: [Bradford] }
            sources:
              - { name: csww, directory: /tmp, values: [v], labels: [la_name] }
            rules:
              - name: a
                expr: v{la_name=group("nope")}
                warn: "> 1"
              - name: b
                expr: v
                warn: "> 1"
                direction: up
                context:
                  Q: quantile(2, v)
            \(minimalReceivers)
            """)
        #expect(l.errorLines.contains(#"7:11: rules[0].expr: expr:11: unknown group "nope" (groups: neighbours)"#))
        #expect(l.errors.contains { $0.message.hasPrefix(#""up" is not one of higher_is_worse | higher_is_better"#) })
        #expect(l.errors.contains { $0.message == "expr:10: quantile needs φ from 0 to 1, got 2" })
    }

    @Test func aLookBackBeyondRetentionIsAWarning() {
        let l = load("""
            retention: 400d
            sources:
              - { name: csww, directory: /tmp, values: [v] }
            rules:
              - { name: a, expr: "v - v offset 2y", warn: "> 1" }
            \(minimalReceivers)
            """)
        #expect(l.errorLines == [])
        #expect(l.warnings.contains { $0.message == "the expression looks back 2y, further than retention (400d): it will find no history that old" })
    }
}
