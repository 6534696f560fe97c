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

/// `tidemark run`'s options.
public struct DaemonOptions: Sendable {
    public var configPath: String
    public var stateDirectory: String?
    public var socketPath: String?
    public var log: Log

    public init(configPath: String, stateDirectory: String?, socketPath: String?, log: Log) {
        self.configPath = configPath
        self.stateDirectory = stateDirectory
        self.socketPath = socketPath
        self.log = log
    }
}

/// A config that failed to load, with every problem as `FILE:LINE:COL: key: message`.
public struct ConfigLoadFailure: Error, Sendable {
    public let errors: [String]
}

/// Loads and fully validates a config: the loader's checks plus every template rendered (SPEC §3).
public func loadValidatedConfig(path: String) -> Result<LoadedConfiguration, ConfigLoadFailure> {
    do {
        let loaded = try ConfigLoader().load(path: path)
        let problems = TemplateSet.check(loaded.configuration)
        guard problems.isEmpty else { return .failure(ConfigLoadFailure(errors: problems.map { "\(path): \($0)" })) }
        return .success(loaded)
    } catch {
        return .failure(ConfigLoadFailure(errors: error.errors.map(\.description)))
    }
}

/// The running daemon. All evaluation state lives on `queue` (drops, timers, control commands that
/// read or change alerts); deliveries run on the outbox worker's own queue, because
/// `curl_easy_perform` blocks. Every change is stored before it is adopted or acted on.
public final class Daemon: @unchecked Sendable {
    let options: DaemonOptions
    let log: Log
    let queue = DispatchQueue(label: "tidemark.engine")
    let startedAt = Date()

    var loaded: LoadedConfiguration
    var configSHA256: String
    var configLoadedAt = Date()
    var lastReload: (at: Date, ok: Bool, error: String?)?
    var stateDirectory: String
    var socketPath: String

    var store: Store!
    var engine: Engine
    var dispatcher: Dispatcher
    var renderer: MessageRenderer
    var outbox: OutboxWorker!
    var control: ControlServer!
    let metrics = DaemonMetrics()

    var watchers: [String: DirectoryWatcher] = [:]
    var pollers: [String: URLPoller] = [:]
    var staleTimers: [String: DispatchSourceTimer] = [:]
    var silenceTimers: [String: DispatchSourceTimer] = [:]
    var flushTimer: DispatchSourceTimer?
    var watchdogTimer: DispatchSourceTimer?
    var pruneTimer: DispatchSourceTimer?
    var signalSources: [DispatchSourceSignal] = []
    var lastAcceptedDrop: [String: Date] = [:]
    /// Set while the state database cannot be written (SPEC §17).
    var stateFault: (error: String, since: Date)?
    var textfileTimer: DispatchSourceTimer?
    var textfileFailing = false
    /// Sources whose drop directory was found tampered with (shown in `status`/`sources`).
    var directoryProblems: [String: String] = [:]
    var stopping = false
    /// Counts state changes (drops, alert and outbox changes, commands that write), for the status cache.
    let changes = Atomic<UInt64>(0)
    /// The last `status` result; read from the control server's queue, so behind a lock.
    let statusCache = Mutex<(key: StatusCacheKey, text: String)?>(nil)
    /// Each source's latest drop record, read from the store once and forgotten when a drop is recorded.
    var lastDrops: [String: DropRecord?] = [:]

    public init(options: DaemonOptions) throws(ConfigLoadFailure) {
        self.options = options
        log = options.log
        let loaded = try loadValidatedConfig(path: options.configPath).get()
        self.loaded = loaded
        configSHA256 = sha256Hex(loaded.contents)
        let c = loaded.configuration
        stateDirectory = options.stateDirectory ?? c.stateDirectory
        socketPath = options.socketPath ?? c.control.socket
        engine = Engine(configuration: c)
        dispatcher = Dispatcher(routes: c.routes, timeZone: Daemon.timeZone(c))
        renderer = MessageRenderer(configuration: c)
    }

    static func timeZone(_ c: Configuration) -> TimeZone {
        c.timezone.flatMap(TimeZone.init(identifier:)) ?? TimeZone.current
    }

    /// Starts everything; returns once the daemon is ready (READY=1 sent). Throws a message for the
    /// operator when it cannot start (corrupt state, socket in use).
    public func start() throws(DaemonStartError) {
        for w in loaded.warnings { log.warning("config: \(w)") }
        do {
            store = try Store(directory: stateDirectory)
        } catch {
            throw DaemonStartError(message: error.description)
        }
        do {
            let cutoff = AsOf(date: Date().addingTimeInterval(-loaded.configuration.retention.seconds))
            let series = try store.loadSeries(since: cutoff)
            engine = Engine(configuration: loaded.configuration, series: series, alerts: try store.activeAlerts(),
                            acknowledgements: try store.acknowledgements(), silences: try store.silences())
            dispatcher = Dispatcher(routes: loaded.configuration.routes, timeZone: Daemon.timeZone(loaded.configuration),
                                    groups: try store.groups())
            lastAcceptedDrop = try store.lastAcceptedDrops()
            auditConfigLoad(cause: "start", ok: true, detail: nil)
            log.info("state loaded", [("path", store.path), ("series", "\(series.seriesCount)"),
                                      ("alerts", "\(engine.activeAlerts.count)")])
        } catch {
            throw DaemonStartError(message: "cannot read state from \(store.path): \(error)")
        }
        outbox = OutboxWorker(store: store, configuration: loaded.configuration, log: log, metrics: metrics,
                              onChange: { [weak self] in self?.noteChange() },
                              onRefused: { [weak self] receiver, reason in
                                  guard let daemon = self else { return }
                                  daemon.queue.async { daemon.deliveryRefused(receiver: receiver, reason: reason) }
                              },
                              onDelivered: { [weak self] receiver in
                                  guard let daemon = self else { return }
                                  daemon.queue.async { daemon.deliveryAllowed(receiver: receiver) }
                              })
        control = ControlServer(path: socketPath, mode: loaded.configuration.control.mode, log: log) { [weak self] request, reply in
            guard let self else { return reply(.failure(ControlError(.internal, "shutting down"))) }
            self.handle(request, reply: reply)
        }
        do {
            try control.start()
        } catch {
            throw DaemonStartError(message: error.message)
        }
        installSignals()
        queue.sync {
            startSources()
            scheduleAllStaleChecks()
            for s in engine.silences where s.endsAt > Date() { scheduleSilenceEnd(s) }
            flushDue()
            schedulePrune()
            startWatchdog()
            startMetricsTextfile()
        }
        metrics.prepare(for: loaded.configuration)
        outbox.start()
        SystemdNotify.send("READY=1\nSTATUS=\(statusLine())")
        log.info("tidemark \(TidemarkVersion.current) ready", [("config", options.configPath), ("socket", socketPath),
                                                                ("state", stateDirectory)])
    }

    /// One line of health for `STATUS=`.
    func statusLine() -> String {
        let firing = engine.activeAlerts.filter { $0.phase == .firing }.count
        let counts = (try? store.outboxCounts()) ?? OutboxCounts()
        let line = "\(loaded.configuration.sources.count) sources, \(firing) firing, outbox \(counts.pending + counts.retrying) queued, \(counts.dead) dead"
        guard let fault = stateFault else { return line }
        return "STATE NOT WRITABLE since \(rfc3339(fault.since)): \(fault.error.prefix(120).replacingOccurrences(of: "\n", with: " ")); " + line
    }

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
        defer {
            lastDrops[source.name] = nil
            noteChange()
        }
        let now = Date()
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
            var nextEngine = engine
            var nextDispatcher = dispatcher
            let evaluation: DropEvaluation
            var record = DropRecord(source: source.name, file: fileName, sha256: parsed.sha256, receivedAt: now,
                                    status: parsed.accepted ? .accepted : .rejected, asOf: parsed.asOfDates.last?.description,
                                    observations: parsed.accepted ? parsed.observations.count : 0, errors: parsed.errorLines)
            if parsed.accepted {
                let started = DispatchTime.now().uptimeNanoseconds
                var e = nextEngine.accept(source: source.name, file: fileName, sha256: parsed.sha256,
                                          observations: parsed.points, now: now)
                record.revised = e.revisedCount
                record.withdrawn = e.withdrawnCount
                metrics.observe("evaluation_duration", seconds: Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9)
                let stale = nextEngine.checkStaleness(source: source, lastDropAt: now, startedAt: startedAt, now: now)
                e.transitions += stale.transitions
                e.upserted += stale.upserted
                e.removed += stale.removed
                evaluation = e
            } else {
                record.asOf = nil
                evaluation = nextEngine.reject(source: source.name, file: fileName, errorCount: parsed.problemCount, now: now)
            }
            let (groups, removedGroups) = route(evaluation, engine: nextEngine, dispatcher: &nextDispatcher, now: now)
            var commit = DropCommit(drop: record)
            if parsed.accepted {
                commit.observations = parsed.points
                commit.revisedFrom = Dictionary(evaluation.revisions.map { ($0.index, $0.from) }, uniquingKeysWith: { a, _ in a })
                commit.derived = evaluation.derived
            }
            commit.upsertedAlerts = evaluation.upserted
            commit.removedAlerts = evaluation.removed
            commit.transitions = evaluation.transitions
            commit.endedAcknowledgements = evaluation.endedAcknowledgements
            commit.groups = groups
            commit.removedGroups = removedGroups
            try store.commit(commit)
            stateWriteSucceeded()
            engine = nextEngine
            dispatcher = nextDispatcher
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
            for t in evaluation.transitions { logTransition(t) }
            dispose(path, source: source, accepted: parsed.accepted)
            flushDue()
        } catch {
            // Nothing was adopted: the drop will be seen again on the next scan or restart.
            log.error("cannot record drop \(fileName) from \(source.name): \(error)")
            if let path, let watcher = watchers[source.name] { watcher.forget((path as NSString).lastPathComponent) }
            if path == nil { pollers[source.name]?.forgetValidators() } // fetch the body again, not a 304
            stateWriteFailed(error)
        }
    }

    func logTransition(_ t: AlertTransition) {
        let a = t.alert
        let kind: String
        switch t {
        case .pending: kind = "pending"
        case .fired: kind = "firing"
        case .levelChanged(_, let from): kind = "level \(from.rawValue) -> \(a.level.rawValue)"
        case .resolved: kind = "resolved"
        case .cancelled: kind = "cancelled"
        }
        log.info("alert \(kind)", [("rule", a.rule), ("id", a.id), ("labels", Labels(a.seriesLabels).description),
                                   ("severity", a.level.rawValue), ("threshold", a.threshold)])
    }

    func dispose(_ path: String?, source: SourceConfig, accepted: Bool) {
        guard let path, case .directory(let d) = source.location else { return }
        do {
            if try DropFileDisposition.apply(d.after, path: path, accepted: accepted) != nil || d.after != .keep {
                watchers[source.name]?.forget((path as NSString).lastPathComponent)
            }
            if d.after != .keep, directoryProblems.removeValue(forKey: source.name) != nil {
                var next = engine
                let changes = next.directorySafe(source: source.name, now: Date())
                applyAlertChanges(changes, engine: next)
            }
        } catch let e as DropFileDisposition.DispositionError where e.unsafe {
            // Tampering: the drop stays where it is (it is not read again unless it changes), the source
            // shows the problem in `status`, and a built-in alert names the path.
            log.error("source \(source.name): \(e.message)")
            directoryProblems[source.name] = e.message
            var next = engine
            let changes = next.directoryUnsafe(source: source.name, problem: e.message, now: Date())
            applyAlertChanges(changes, engine: next)
        } catch {
            log.warning("source \(source.name): \(error)")
        }
    }

    /// Feeds transitions to the dispatcher and returns the groups to store.
    func route(_ e: DropEvaluation, engine: Engine, dispatcher d: inout Dispatcher, now: Date) -> ([NotificationGroup], [String]) {
        var changed = Set<String>()
        for t in e.transitions { changed.formUnion(d.add(t, labels: engine.labels(of: t.alert), now: now)) }
        let transitioned = Set(e.transitions.map(\.alert.id))
        for a in e.upserted where !transitioned.contains(a.id) { d.refresh(a, labels: engine.labels(of: a)) }
        return split(changed, d)
    }

    func split(_ keys: Set<String>, _ d: Dispatcher) -> ([NotificationGroup], [String]) {
        (keys.compactMap { d.groups[$0] }, keys.filter { d.groups[$0] == nil })
    }

    // MARK: Notifications

    /// Turns due groups into outbox rows (one durable transaction), then wakes the worker.
    func flushDue() {
        defer { noteChange() }
        dispatchPrecondition(condition: .onQueue(queue))
        let now = Date()
        var d = dispatcher
        let e = engine
        let (notes, changed) = d.flushDue(now: now, isSilenced: { !e.silencedBy($0, at: now).isEmpty },
                                          isAcknowledged: { e.isAcknowledged($0) }, newID: Daemon.newID)
        if !changed.isEmpty {
            var items: [OutboxItem] = []
            for n in notes {
                for name in n.receivers {
                    guard let receiver = loaded.configuration.receivers.first(where: { $0.name == name }) else { continue }
                    items.append(OutboxItem(notificationID: n.id, receiver: name,
                                            payload: renderer.render(n, receiver: receiver, now: now), createdAt: now))
                }
            }
            let (groups, removed) = split(Set(changed), d)
            do {
                try store.enqueue(items, groups: groups, removedGroups: removed)
                stateWriteSucceeded()
                dispatcher = d
                for n in notes {
                    log.info("notification queued", [("id", n.id), ("status", n.status), ("alerts", "\(n.alerts.count)"),
                                                      ("receivers", n.receivers.joined(separator: ",")), ("repeat", "\(n.isRepeat)")])
                }
                if !items.isEmpty { outbox.kick() }
            } catch {
                log.error("cannot queue notifications: \(error); retrying in 5s")
                stateWriteFailed(error)
                scheduleFlush(at: now.addingTimeInterval(5))
                return
            }
        }
        if let next = dispatcher.nextDue { scheduleFlush(at: next) }
    }

    func scheduleFlush(at date: Date) {
        flushTimer?.cancel()
        let t = DispatchSource.makeTimerSource(queue: queue)
        t.schedule(wallDeadline: .now() + max(0, date.timeIntervalSinceNow), leeway: .milliseconds(5))
        t.setEventHandler { [weak self] in self?.flushDue() }
        t.resume()
        flushTimer = t
    }

    static func newID() -> String {
        var bytes = [UInt8](repeating: 0, count: 16)
        for i in bytes.indices { bytes[i] = UInt8.random(in: 0...255) }
        return bytes.map { String(format: "%02x", $0) }.joined()
    }

    /// Applies alert changes outside a drop (staleness, reload, silences ending): store, then adopt.
    func applyAlertChanges(_ e: DropEvaluation, engine next: Engine) {
        var d = dispatcher
        let now = Date()
        let (groups, removed) = route(e, engine: next, dispatcher: &d, now: now)
        do {
            try store.commitAlertChanges(upserted: e.upserted, removed: e.removed, transitions: e.transitions,
                                         endedAcknowledgements: e.endedAcknowledgements, groups: groups, removedGroups: removed)
            engine = next
            dispatcher = d
            for t in e.transitions { logTransition(t) }
            flushDue()
        } catch {
            log.error("cannot record alert changes: \(error)")
            stateWriteFailed(error)
        }
    }

    // MARK: Staleness

    func scheduleAllStaleChecks() {
        for s in loaded.configuration.sources { scheduleStaleCheck(s) }
        for name in staleTimers.keys where loaded.configuration.source(named: name) == nil {
            staleTimers.removeValue(forKey: name)?.cancel()
        }
    }

    /// A timer at the source's deadline, so `source_stale` fires within a second of it (SPEC §4).
    func scheduleStaleCheck(_ source: SourceConfig) {
        staleTimers.removeValue(forKey: source.name)?.cancel()
        checkStale(source.name)
        guard let deadline = Engine.staleDeadline(source: source, lastDropAt: lastAcceptedDrop[source.name], startedAt: startedAt),
              deadline > Date() else { return }
        let t = DispatchSource.makeTimerSource(queue: queue)
        t.schedule(wallDeadline: .now() + deadline.timeIntervalSinceNow, leeway: .milliseconds(100))
        t.setEventHandler { [weak self] in self?.checkStale(source.name) }
        t.resume()
        staleTimers[source.name] = t
    }

    func checkStale(_ name: String) {
        defer { noteChange() }
        guard let source = loaded.configuration.source(named: name) else { return }
        var next = engine
        let e = next.checkStaleness(source: source, lastDropAt: lastAcceptedDrop[name], startedAt: startedAt, now: Date())
        guard !e.transitions.isEmpty else { return }
        applyAlertChanges(e, engine: next)
    }

    // MARK: Silences

    func scheduleSilenceEnd(_ s: Silence) {
        silenceTimers.removeValue(forKey: s.id)?.cancel()
        let t = DispatchSource.makeTimerSource(queue: queue)
        t.schedule(wallDeadline: .now() + max(0, s.endsAt.timeIntervalSinceNow), leeway: .milliseconds(100))
        t.setEventHandler { [weak self] in self?.silenceEnded(s.id) }
        t.resume()
        silenceTimers[s.id] = t
    }

    /// Alerts still firing when their silence ends are notified then (SPEC §6).
    func silenceEnded(_ id: String) {
        defer { noteChange() }
        silenceTimers.removeValue(forKey: id)?.cancel()
        guard let s = engine.silences.first(where: { $0.id == id }) else { return }
        let now = Date()
        let ids = Set(engine.activeAlerts.filter { $0.phase == .firing && s.matches(engine.labels(of: $0)) && engine.silencedBy($0, at: now).isEmpty }.map(\.id))
        guard !ids.isEmpty else { return }
        var d = dispatcher
        let changed = d.touch(alertIDs: ids, now: now)
        // Firing alerts not in any group (silenced since before their first notification) join theirs.
        var all = Set(changed)
        for a in engine.activeAlerts where ids.contains(a.id) && !d.groups.values.contains(where: { $0.alerts[a.id] != nil }) {
            all.formUnion(d.add(.fired(a), labels: engine.labels(of: a), now: now))
        }
        let (groups, removed) = split(all, d)
        do {
            try store.enqueue([], groups: groups, removedGroups: removed)
            dispatcher = d
            flushDue()
        } catch {
            log.error("cannot record silence end: \(error)")
        }
    }

    // MARK: Housekeeping

    func schedulePrune() {
        let t = DispatchSource.makeTimerSource(queue: queue)
        t.schedule(wallDeadline: .now() + 60, repeating: 86_400, leeway: .seconds(60))
        t.setEventHandler { [weak self] in self?.prune() }
        t.resume()
        pruneTimer = t
    }

    func prune() {
        defer { noteChange() }
        let cutoff = Date().addingTimeInterval(-loaded.configuration.retention.seconds)
        do {
            let removed = try store.prune(before: cutoff)
            var next = engine
            next.forgetSilences(endedBefore: cutoff)
            engine = next
            let audit = try store.pruneAudit(before: Date().addingTimeInterval(-loaded.configuration.auditRetention.seconds))
            log.info("retention: pruned history", [("before", rfc3339(cutoff)), ("points", "\(removed)"), ("audit_entries", "\(audit)")])
        } catch {
            log.error("retention: prune failed: \(error)")
        }
    }

    /// `WATCHDOG=1` from the engine queue, so a stuck evaluation loop stops the pings (SPEC §9).
    func startWatchdog() {
        guard let interval = SystemdNotify.watchdogInterval() else { return }
        let t = DispatchSource.makeTimerSource(queue: queue)
        t.schedule(deadline: .now(), repeating: interval, leeway: .milliseconds(100))
        t.setEventHandler { SystemdNotify.send("WATCHDOG=1") }
        t.resume()
        watchdogTimer = t
    }

    // MARK: Signals, reload, shutdown

    func installSignals() {
        for (sig, action) in [(SIGHUP, "reload"), (SIGTERM, "stop"), (SIGINT, "stop")] {
            signal(sig, SIG_IGN)
            let s = DispatchSource.makeSignalSource(signal: sig, queue: queue)
            s.setEventHandler { [weak self] in
                guard let self else { return }
                if action == "reload" {
                    self.log.info("SIGHUP: reloading config")
                    _ = self.reload(cause: "SIGHUP")
                } else {
                    self.log.info("signal \(sig == SIGTERM ? "SIGTERM" : "SIGINT"): stopping")
                    self.shutdown()
                }
            }
            s.resume()
            signalSources.append(s)
        }
    }

    /// Re-reads the config; on any error the old config stays and the errors are returned.
    func reload(cause: String) -> Result<(sha256: String, loadedAt: Date), ConfigLoadFailure> {
        dispatchPrecondition(condition: .onQueue(queue))
        defer { noteChange() }
        SystemdNotify.send("RELOADING=1\nMONOTONIC_USEC=\(SystemdNotify.monotonicMicroseconds())\nSTATUS=reloading config")
        defer { SystemdNotify.send("READY=1\nSTATUS=\(statusLine())") }
        let now = Date()
        switch loadValidatedConfig(path: options.configPath) {
        case .failure(let failure):
            lastReload = (now, false, failure.errors.joined(separator: "; "))
            auditConfigLoad(cause: cause, ok: false, detail: failure.errors.joined(separator: "; "))
            log.error("reload failed; keeping the running config", [("errors", "\(failure.errors.count)")])
            for e in failure.errors { log.error("  \(e)") }
            return .failure(failure)
        case .success(let newLoaded):
            let c = newLoaded.configuration
            var next = engine
            var e = next.reload(c, now: now)
            next.evaluateRules(context: EvaluationContext(source: "", drop: "", now: now), into: &e)
            var d = dispatcher
            d.replaceRoutes(c.routes)
            let (groups, removed) = route(e, engine: next, dispatcher: &d, now: now)
            do {
                try store.commitAlertChanges(upserted: e.upserted, removed: e.removed, transitions: e.transitions,
                                             endedAcknowledgements: e.endedAcknowledgements, groups: groups, removedGroups: removed)
            } catch {
                let message = "cannot record the reload: \(error)"
                lastReload = (now, false, message)
                log.error(message)
                return .failure(ConfigLoadFailure(errors: [message]))
            }
            stopSources()
            loaded = newLoaded
            configSHA256 = sha256Hex(newLoaded.contents)
            configLoadedAt = now
            engine = next
            dispatcher = Dispatcher(routes: c.routes, timeZone: Daemon.timeZone(c), groups: Array(d.groups.values))
            renderer = MessageRenderer(configuration: c)
            startMetricsTextfile()
            outbox.update(configuration: c)
            metrics.prepare(for: c)
            lastReload = (now, true, nil)
            auditConfigLoad(cause: cause, ok: true, detail: nil)
            for w in newLoaded.warnings { log.warning("config: \(w)") }
            for t in e.transitions { logTransition(t) }
            startSources()
            scheduleAllStaleChecks()
            flushDue()
            log.info("config reloaded", [("sha256", String(configSHA256.prefix(12)))])
            return .success((configSHA256, now))
        }
    }

    /// Stops sources and timers, gives in-flight deliveries up to 10 s, then exits 0.
    func shutdown() {
        guard !stopping else { return }
        stopping = true
        SystemdNotify.send("STOPPING=1")
        stopSources()
        for t in Array(staleTimers.values) + Array(silenceTimers.values) { t.cancel() }
        flushTimer?.cancel()
        watchdogTimer?.cancel()
        pruneTimer?.cancel()
        textfileTimer?.cancel()
        control.stop()
        let drained = outbox.stop(timeout: 10)
        log.info(drained ? "stopped" : "stopped; undelivered notifications resume at next start")
        exit(0)
    }
}

/// When a cached `status` result is still right: no state change since, and the same uptime second.
struct StatusCacheKey: Equatable {
    let changes: UInt64
    let second: Int
}

extension Daemon {
    /// Something `status` reports may have changed.
    func noteChange() { changes.add(1, ordering: .releasing) }

    func lastDrop(source: String) throws -> DropRecord? {
        if let known = lastDrops[source] { return known }
        let record = try store.drops(source: source, limit: 1).first
        lastDrops[source] = .some(record)
        return record
    }
}

/// Why the daemon could not start.
public struct DaemonStartError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
