@preconcurrency import Glibc
import Dispatch
import Foundation
import Synchronization
import TidemarkConfig
import TidemarkCore
import TidemarkCrypto
import TidemarkIngest
import TidemarkNotify
import TidemarkStore

/// The drop pipeline: sources started and stopped, files and URL bodies read, each drop recorded in
/// one durable transaction, then the file's disposition.
extension Daemon {
    // MARK: Sources

    func startSources() {
        dispatchPrecondition(condition: .onQueue(queue))
        for source in loaded.configuration.sources {
            switch source.location {
            case .directory(let d):
                let watcher = DirectoryWatcher(directory: d, queue: queue, onReady: { [weak self] path, identity in
                    self?.processFile(source: source.name, path: path, identity: identity)
                }, onProblem: { [weak self] problem in
                    self?.log.warning("source \(source.name): \(problem)")
                })
                watchers[source.name] = watcher
                watcher.start()
            case .url(let u):
                let poller = URLPoller(source: u, maxBytes: source.maxBytes, label: source.name) { [weak self] result in
                    guard let self else { return }
                    self.queue.async { self.handlePoll(source: source.name, result: result) }
                }
                pollers[source.name] = poller
                poller.start()
            }
        }
    }

    func stopSources() {
        for w in watchers.values { w.stopOnQueue() }
        for p in pollers.values { p.stop() }
        watchers = [:]
        pollers = [:]
    }

    func handlePoll(source name: String, result: URLPollResult) {
        guard !stopping, let source = loaded.configuration.source(named: name) else { return }
        switch result {
        case .notModified:
            log.debug("source \(name): not modified")
        case .failed(let reason):
            metrics.count("poll_failures", ["source": name])
            log.warning("source \(name): poll failed: \(reason)")
        case .body(let bytes, let fetchedAt, let from):
            log.debug("source \(name): fetched \(bytes.count) bytes from \(escapedText(from, limit: 512))")
            guard case .url(let u) = source.location else { return }
            let fileName = (URL(string: u.url)?.lastPathComponent).flatMap { $0.isEmpty || $0 == "/" ? nil : $0 } ?? name
            let parsed = DropReader(source: source, privacy: loaded.configuration.privacy)
                .read(bytes: bytes, fileName: fileName, modified: fetchedAt)
            ingest(parsed, source: source, path: nil)
        }
    }

    func processFile(source name: String, path: String, identity: DropFileIdentity) {
        dispatchPrecondition(condition: .onQueue(queue))
        guard !stopping, let source = loaded.configuration.source(named: name) else { return }
        let parsed = DropReader(source: source, privacy: loaded.configuration.privacy).read(path: path, expecting: identity)
        if let reason = parsed.notRead {
            // Not a drop: nothing of it was read, so nothing is recorded or quoted; the name is escaped.
            log.warning("file \(escapedPath(path)) \(reason)", [("source", name)])
            return
        }
        ingest(parsed, source: source, path: path)
    }

    /// The drop pipeline: duplicate check, evaluation, one durable transaction, then the file's
    /// disposition and any notifications that fell due.
    func ingest(_ parsed: ParsedDrop, source: SourceConfig, path: String?) {
        dispatchPrecondition(condition: .onQueue(queue))
        defer { scheduleIdleTrim() }
        defer {
            lastDrops[source.name] = nil
            noteChange()
        }
        let now = self.now()
        let fileName = parsed.fileName
        do {
            if parsed.accepted, try store.isDuplicate(source: source.name, sha256: parsed.sha256) {
                try store.recordDrop(DropRecord(source: source.name, file: fileName, sha256: parsed.sha256, receivedAt: now,
                                                status: .duplicate, asOf: parsed.asOfDates.last?.description,
                                                observations: parsed.observations.count, errors: []))
                metrics.count("drops", ["source": source.name, "status": "duplicate"])
                log.info("drop duplicate", [("source", source.name), ("file", fileName), ("sha256", String(parsed.sha256.prefix(12)))])
                dispose(path, source: source, accepted: true)
                return
            }
            let record = DropRecord(source: source.name, file: fileName, sha256: parsed.sha256, receivedAt: now,
                                    status: parsed.accepted ? .accepted : .rejected,
                                    asOf: parsed.accepted ? parsed.asOfDates.last?.description : nil,
                                    observations: parsed.accepted ? parsed.observations.count : 0, errors: parsed.errorLines)
            // The first notifications the drop makes due are stored in the drop's own transaction and
            // handed to the worker as soon as it is durable: one commit before the first delivery, not two.
            var firstItems: [OutboxItem] = []
            // An accepted drop's points are written while it is evaluated (`DropWriting`).
            let write = parsed.accepted ? store.beginDrop(record, observations: parsed.points) : nil
            let change = try advance({ state in
                var change: AlertingChange
                if parsed.accepted {
                    let started = DispatchTime.now().uptimeNanoseconds
                    change = state.acceptDrop(source: source, file: fileName, sha256: parsed.sha256, observations: parsed.points,
                                              startedAt: startedAt, now: now)
                    metrics.observe("evaluation_duration", seconds: Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9)
                } else {
                    change = state.rejectDrop(source: source.name, file: fileName, errorCount: parsed.problemCount, now: now)
                }
                change.append(state.flushDue(now: now, limit: Daemon.firstSlice, newID: Daemon.newID))
                return change
            }, record: { change, state in
                firstItems = outboxItems(for: change.notifications, now: now, charting: state)
                var commit = DropCommit(drop: record, observations: parsed.accepted ? parsed.points : [], change: change)
                commit.outbox = firstItems
                if let write { try write.finish(commit) } else { try store.commit(commit) }
                stateWriteSucceeded()
            })
            if !firstItems.isEmpty { outbox.kick() }
            let evaluation = change.evaluation
            metrics.count("drops", ["source": source.name, "status": record.status.rawValue])
            if parsed.accepted {
                lastAcceptedDrop[source.name] = now
                scheduleStaleCheck(source)
                log.info("drop accepted", [("source", source.name), ("file", fileName), ("sha256", String(parsed.sha256.prefix(12))),
                                           ("observations", "\(parsed.observations.count)"), ("markers", "\(parsed.markers.count)"),
                                           ("revised", "\(evaluation.revisedCount)"), ("withdrawn", "\(evaluation.withdrawnCount)"),
                                           ("derived", "\(evaluation.derived.count)"),
                                           ("transitions", "\(evaluation.transitions.count)")])
                for w in parsed.warnings { log.warning("drop \(fileName): \(w)", [("source", source.name)]) }
            } else {
                log.warning("drop rejected", [("source", source.name), ("file", fileName), ("problems", "\(parsed.problemCount)")])
                for line in parsed.errorLines { log.warning("  \(line)", [("source", source.name)]) }
            }
            logTransitions(evaluation.transitions)
            logQueued(change.notifications, deliveries: firstItems.count, more: change.moreDue)
            dispose(path, source: source, accepted: parsed.accepted)
            flushDue(slice: change.moreDue ? Daemon.laterSlice : Daemon.firstSlice)
        } catch {
            // Nothing was adopted: the drop will be seen again on the next scan or restart.
            log.error("cannot record drop \(fileName) from \(source.name): \(error)")
            if let path, let watcher = watchers[source.name] { watcher.forget((path as NSString).lastPathComponent) }
            if path == nil { pollers[source.name]?.forgetValidators() } // fetch the body again, not a 304
            stateWriteFailed(error)
        }
    }

    /// One line per transition, or for a burst one per rule and kind (`Log.itemsLoggedOneByOne`).
    func logTransitions(_ transitions: [AlertTransition]) {
        if let each = log.levelForEach(of: transitions.count) {
            for t in transitions { logTransition(t, level: each) }
        }
        guard transitions.count > Log.itemsLoggedOneByOne else { return }
        var counts: [String: Int] = [:]
        for t in transitions { counts["\(Daemon.kind(of: t))\u{0}\(t.alert.rule)", default: 0] += 1 }
        for (key, n) in counts.sorted(by: { $0.key < $1.key }) {
            let parts = key.split(separator: "\u{0}", maxSplits: 1).map(String.init)
            log.info("alerts \(parts[0])", [("rule", parts[1]), ("count", "\(n)"), ("see", "tidemark alerts")])
        }
    }

    static func kind(of t: AlertTransition) -> String {
        switch t {
        case .pending: "pending"
        case .fired: "firing"
        case .levelChanged(_, let from): "level \(from.rawValue) -> \(t.alert.level.rawValue)"
        case .resolved: "resolved"
        case .cancelled: "cancelled"
        }
    }

    func logTransition(_ t: AlertTransition, level: LogLevel = .info) {
        let a = t.alert
        log.log(level, "alert \(Daemon.kind(of: t))", [("rule", a.rule), ("id", a.id), ("labels", Labels(a.seriesLabels).description),
                                                      ("severity", a.level.rawValue), ("threshold", a.threshold)])
    }

    func dispose(_ path: String?, source: SourceConfig, accepted: Bool) {
        guard let path, case .directory(let d) = source.location else { return }
        do {
            if try DropFileDisposition.apply(d.after, path: path, accepted: accepted) != nil || d.after != .keep {
                watchers[source.name]?.forget((path as NSString).lastPathComponent)
            }
            if d.after != .keep, directoryProblems.removeValue(forKey: source.name) != nil {
                applyAlertChange("the directory made safe") { $0.directorySafe(source: source.name, now: now()) }
            }
        } catch let e as DropFileDisposition.DispositionError where e.unsafe {
            // Tampering: the drop stays where it is (it is not read again unless it changes), the source
            // shows the problem in `status`, and a built-in alert names the path.
            log.error("source \(source.name): \(e.message)")
            directoryProblems[source.name] = e.message
            applyAlertChange("the unsafe directory") { $0.directoryUnsafe(source: source.name, problem: e.message, now: now()) }
        } catch {
            log.warning("source \(source.name): \(error)")
        }
    }
}
