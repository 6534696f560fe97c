import Dispatch
import Foundation
import TidemarkControl
import TidemarkCore
import TidemarkNotify
import TidemarkStore

/// Digests (SPEC §16): each goes out at its schedule's slots in the config's time zone, through the
/// outbox. The slot dealt with is stored with the queued messages, so a digest is sent once per slot;
/// one that fell due while the daemon was down goes out once at start (never once per missed slot);
/// a digest seen for the first time starts at the next slot rather than sending at once.
extension Daemon {
    func scheduleDigests() {
        dispatchPrecondition(condition: .onQueue(queue))
        for t in digestTimers.values { t.cancel() }
        digestTimers = [:]
        let runs: [String: Store.DigestRun]
        do {
            runs = try store.digestRuns()
        } catch {
            log.error("digests: cannot read their last runs: \(error); retrying in 5s")
            queue.asyncAfter(deadline: .now() + 5) { [weak self] in self?.scheduleDigests() }
            return
        }
        let now = self.now()
        let zone = AlertingState.timeZone(loaded.configuration)
        for digest in loaded.configuration.digests {
            guard let latest = digest.schedule.slot(atOrBefore: now, timeZone: zone) else { continue }
            if let run = runs[digest.name] {
                if run.lastSlot < latest { sendDigest(digest.name, slot: latest, since: run.lastSentAt) }
            } else {
                // First sight: nothing is owed yet.
                try? store.recordDigest(name: digest.name, run: .init(lastSlot: latest, lastSentAt: nil), items: [])
            }
            scheduleNextDigest(digest)
        }
    }

    func scheduleNextDigest(_ digest: DigestConfig) {
        let zone = AlertingState.timeZone(loaded.configuration)
        guard let next = digest.schedule.slot(after: now(), timeZone: zone) else { return }
        digestTimers[digest.name]?.cancel()
        digestTimers[digest.name] = at(next, leeway: .seconds(1)) { daemon in
            guard let d = daemon.loaded.configuration.digests.first(where: { $0.name == digest.name }) else { return }
            let since = (try? daemon.store.digestRuns()[d.name])?.lastSentAt
            daemon.sendDigest(d.name, slot: next, since: since)
            daemon.scheduleNextDigest(d)
        }
    }

    /// Builds the digest, renders it for each receiver and queues it with its slot in one transaction.
    func sendDigest(_ name: String, slot: Date, since: Date?) {
        defer { noteChange() }
        guard let digest = loaded.configuration.digests.first(where: { $0.name == name }) else { return }
        let now = self.now()
        let report = digestReport(digest, since: since, now: now)
        let id = Daemon.newID()
        let zone = AlertingState.timeZone(loaded.configuration)
        var items: [OutboxItem] = []
        for receiverName in digest.receivers {
            guard let receiver = loaded.configuration.receivers.first(where: { $0.name == receiverName }) else { continue }
            items.append(OutboxItem(notificationID: id, receiver: receiverName,
                                    payload: renderer.render(report, id: id, receiver: receiver, timeZone: zone), createdAt: now,
                                    groupKey: "digest:\(name)"))
        }
        do {
            try store.recordDigest(name: name, run: .init(lastSlot: slot, lastSentAt: now), items: items)
            stateWriteSucceeded()
            let t = report.totals
            log.info("digest queued", [("digest", name), ("id", id), ("red", "\(t.red)"), ("amber", "\(t.amber)"),
                                       ("green", "\(t.green)"), ("changes", "\(report.changes.count)"),
                                       ("receivers", digest.receivers.joined(separator: ","))])
            outbox.kick()
        } catch {
            log.error("digest \(name): cannot queue it: \(error); retrying in 5s")
            stateWriteFailed(error)
            queue.asyncAfter(deadline: .now() + 5) { [weak self] in self?.sendDigest(name, slot: slot, since: since) }
        }
    }

    func digestReport(_ digest: DigestConfig, since: Date?, now: Date) -> DigestReport {
        let p = renderer.presentation
        var changes: [DigestReport.Change] = []
        let from = since ?? startedAt.addingTimeInterval(-7 * 86_400)
        for e in (try? store.alertEvents(since: from, limit: 500)) ?? [] where !BuiltinRule.all.contains(e.alert.rule) {
            let kind = e.kind == "firing" ? "Fired" : e.kind == "resolved" ? "Resolved" : "Level changed"
            let level = e.kind == "resolved" ? "" : " (\(p.levelName(e.alert)))"
            changes.append(.init(at: e.at, kind: kind + level, text: p.summary(e.alert, templates: renderer.templates)))
        }
        for d in (try? store.revisingDrops(since: from)) ?? [] {
            if d.revised > 0 { changes.append(.init(at: d.receivedAt, kind: "Revised", text: "\(d.revised) figures revised by \(d.file) (\(d.source))")) }
            if d.withdrawn > 0 { changes.append(.init(at: d.receivedAt, kind: "Withdrawn", text: "\(d.withdrawn) figures withdrawn by \(d.file) (\(d.source))")) }
        }
        let problems = engine.activeAlerts.filter { $0.phase == .firing && [BuiltinRule.sourceStale, BuiltinRule.dropRejected].contains($0.rule) }
            .map { p.summary($0, templates: renderer.templates) }
        return DigestBuilder(presentation: p).build(digest, engine: engine, since: since, changes: changes,
                                                    sourceProblems: problems, now: now)
    }

    /// `digest.preview`: the HTML a digest would send now, with its charts inline, without sending.
    func digestPreview(_ r: ControlRequest, now: Date) throws -> JSON {
        guard let name = r.string(.name), !name.isEmpty else { throw ControlError(.invalid, "digest.preview needs \"name\"") }
        guard let digest = loaded.configuration.digests.first(where: { $0.name == name }) else {
            let names = loaded.configuration.digests.map(\.name)
            throw ControlError(.notFound, "no digest named \"\(name)\"" + (names.isEmpty ? " (the config has no digests:)" : " (digests: \(names.joined(separator: ", ")))"))
        }
        let since = try store.digestRuns()[name]?.lastSentAt
        let report = digestReport(digest, since: since, now: now)
        let zone = AlertingState.timeZone(loaded.configuration)
        let next = digest.schedule.slot(after: now, timeZone: zone)
        return .object([("name", .string(name)), ("title", .string(report.title)),
                        ("next_at", next.map { .string(rfc3339($0)) } ?? .null),
                        ("html", .string(renderer.digestPreviewHTML(report, timeZone: zone))),
                        ("text", .string(renderer.digestText(report, timeZone: zone)))])
    }
}
