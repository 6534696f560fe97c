import Foundation
import Testing
import TidemarkCore
@testable import TidemarkIngest

/// Drop directories are written by other systems and people (issue #20): planted links, swapped files,
/// hard links and FIFOs, with real files in temporary directories.
@Suite struct HostileDirectoryTests {
    func identity(_ path: String) -> DropFileIdentity {
        var st = stat()
        precondition(lstat(path, &st) == 0)
        return DropFileIdentity(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
    }

    let caseloads = source(.records([Aggregation(metric: "n", op: .count)]), asOf: .modificationTime)

    @Test func aPlantedProcessedSymlinkIsRefusedAndTheDropStaysInPlace() throws {
        let dir = TemporaryDirectory(), elsewhere = TemporaryDirectory()
        let drop = dir.write("d.csv", "team\nNorth\n")
        symlink(elsewhere.path, dir.path + "/processed")
        #expect {
            try DropFileDisposition.apply(.move, path: drop, accepted: true)
        } throws: { error in
            let e = error as? DropFileDisposition.DispositionError
            return e?.unsafe == true && e?.message.contains("is not a real directory") == true
        }
        #expect(FileManager.default.fileExists(atPath: drop), "the drop stays where it is")
        #expect(try FileManager.default.contentsOfDirectory(atPath: elsewhere.path).isEmpty, "nothing left the source directory")
    }

    @Test func aFileWhereRejectedShouldBeIsRefused() throws {
        let dir = TemporaryDirectory()
        let drop = dir.write("bad.csv", "x")
        dir.write("rejected", "not a directory")
        #expect(throws: DropFileDisposition.DispositionError.self) {
            try DropFileDisposition.apply(.move, path: drop, accepted: false)
        }
        #expect(FileManager.default.fileExists(atPath: drop))
    }

    @Test func aSourceDirectoryReplacedByASymlinkIsNotEntered() throws {
        let parent = TemporaryDirectory(), real = TemporaryDirectory()
        let drop = real.write("d.csv", "team\nNorth\n")
        symlink(real.path, parent.path + "/drops")
        #expect {
            try DropFileDisposition.apply(.delete, path: parent.path + "/drops/d.csv", accepted: true)
        } throws: { ($0 as? DropFileDisposition.DispositionError)?.unsafe == true }
        #expect(FileManager.default.fileExists(atPath: drop))
    }

    @Test func aSourceDirectorySwappedForALinkIsNotReadThrough() throws {
        let parent = TemporaryDirectory(), elsewhere = TemporaryDirectory()
        let drops = parent.makeDirectory("drops")
        let path = parent.write("drops/d.csv", "team\nNorth\n")
        let settled = identity(path)
        // Swapped: the directory moved away, a link to a directory holding a file of the same name put in its place.
        rename(drops, parent.path + "/old")
        let secret = elsewhere.write("d.csv", "team\nSECRET\n")
        _ = secret
        symlink(elsewhere.path, drops)
        let parsed = DropReader(source: caseloads, privacy: PrivacySettings()).read(path: drops + "/d.csv", expecting: settled)
        #expect(parsed.notRead?.contains("is no longer a real directory") == true)
        #expect(parsed.observations.isEmpty && parsed.sha256.isEmpty)
    }

    @Test func movesNeverOverwriteAndStayInside() throws {
        let dir = TemporaryDirectory()
        for n in 1...3 {
            let drop = dir.write("d.csv", "v\(n)")
            let moved = try #require(try DropFileDisposition.apply(.move, path: drop, accepted: true))
            #expect(moved == dir.path + "/processed/d.csv" + (n == 1 ? "" : ".\(n)"))
        }
        #expect(try String(contentsOfFile: dir.path + "/processed/d.csv", encoding: .utf8) == "v1")
    }

    @Test func aFileSwappedForASymlinkAfterSettlingIsNotRead() throws {
        let dir = TemporaryDirectory()
        let secret = dir.write("secret.txt", "team\nSECRET\n")
        let path = dir.write("d.csv", "team\nNorth\n")
        let settled = identity(path)
        unlink(path)
        symlink(secret, path)
        let parsed = DropReader(source: caseloads, privacy: PrivacySettings()).read(path: path, expecting: settled)
        #expect(parsed.notRead == "not read: it is now a symbolic link")
        #expect(parsed.observations.isEmpty && parsed.sha256.isEmpty, "nothing of the target was read")
    }

    @Test func aFileReplacedByAnotherAfterSettlingIsNotRead() throws {
        let dir = TemporaryDirectory()
        let path = dir.write("d.csv", "team\nNorth\n")
        let settled = identity(path)
        let other = dir.write("other.tmp", "team\nSouth\n")
        rename(other, path)
        let parsed = DropReader(source: caseloads, privacy: PrivacySettings()).read(path: path, expecting: settled)
        #expect(parsed.notRead == "not read: it was replaced by another file after it settled")
    }

    @Test func aHardLinkToAFileElsewhereIsNotADrop() throws {
        let dir = TemporaryDirectory(), elsewhere = TemporaryDirectory()
        let original = elsewhere.write("private.csv", "team\nNorth\n")
        let path = dir.path + "/d.csv"
        #expect(link(original, path) == 0)
        let parsed = DropReader(source: caseloads, privacy: PrivacySettings()).read(path: path, expecting: identity(path))
        #expect(parsed.notRead?.hasPrefix("not read: it has 2 hard links") == true)
        var follow = caseloads
        follow.location = .directory(DirectorySource(path: dir.path, followSymlinks: true))
        #expect(DropReader(source: follow, privacy: PrivacySettings()).read(path: path, expecting: identity(path)).accepted,
                "follow_symlinks: true allows it")
    }

    @Test func aFIFOUnderADropsNameNeitherHangsNorIsRead() throws {
        let dir = TemporaryDirectory()
        let path = dir.write("d.csv", "team\nNorth\n")
        let settled = identity(path)
        unlink(path)
        #expect(mkfifo(path, 0o600) == 0)
        let parsed = DropReader(source: caseloads, privacy: PrivacySettings()).read(path: path, expecting: settled)
        #expect(parsed.notRead == "not read: it is not a regular file")
    }

    @Test func aFileRemovedBeforeItIsReadIsNotADrop() throws {
        let dir = TemporaryDirectory()
        let path = dir.write("d.csv", "team\nNorth\n")
        let settled = identity(path)
        unlink(path)
        let parsed = DropReader(source: caseloads, privacy: PrivacySettings()).read(path: path, expecting: settled)
        #expect(parsed.notRead == "not read: it was removed before it could be read")
    }

    @Test func textFromTheFileIsQuotedShortAndEscaped() {
        let long = String(repeating: "x", count: 200)
        let parsed = read("date,team,hours\n2025-03-03,North,\(long)\n2025-03-03,South,a\u{1b}[2Jb\n",
                          source(.wide(labels: [LabelColumn(label: "team", column: "team")],
                                       values: [ValueColumn(metric: "hours", column: "hours")])))
        #expect(parsed.errorLines == [
            "drop.csv:2: column hours: not a number: \"" + String(repeating: "x", count: 64) + "…\"",
            #"drop.csv:3: column hours: not a number: "a\u{1b}[2Jb""#,
        ])
        #expect(escapedPath("a\nb\u{7}c") == #"a\u{a}b\u{7}c"#)
    }
}
