@preconcurrency import Glibc
import Dispatch
import Foundation
import Synchronization
import TidemarkConfig
import TidemarkControl
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
    /// The clock and timers; tests pass a manual one.
    public var scheduler: any DaemonScheduler
    /// Whether SIGHUP/SIGTERM/SIGINT are the daemon's (not when it runs inside a test process).
    public var handlesSignals: Bool

    public init(configPath: String, stateDirectory: String?, socketPath: String?, log: Log,
                scheduler: any DaemonScheduler = SystemScheduler(), handlesSignals: Bool = true) {
        self.scheduler = scheduler
        self.handlesSignals = handlesSignals
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
/// `@unchecked Sendable`: mutable state is confined to `queue`; what the control queue reads is behind locks.
public final class Daemon: @unchecked Sendable {
    let options: DaemonOptions
    let log: Log
    let queue = DispatchQueue(label: "tidemark.engine")
    let scheduler: any DaemonScheduler
    let startedAt: Date

    var loaded: LoadedConfiguration
    var configSHA256: String
    var configLoadedAt: Date
    var lastReload: (at: Date, ok: Bool, error: String?)?
    var stateDirectory: String
    var socketPath: String

    var store: (any StateStore)!
    /// Set when the state is on PostgreSQL shared with other daemons (SPEC §18).
    var cluster: ClusterMember?
    /// The pure alerting core (engine and dispatcher); replaced only by `advance` once a step is stored.
    var alerting: AlertingState
    var engine: Engine { alerting.engine }
    var dispatcher: Dispatcher { alerting.dispatcher }
    var renderer: MessageRenderer
    var outbox: OutboxWorker!
    var control: ControlServer!
    let metrics = DaemonMetrics()

    var watchers: [String: DirectoryWatcher] = [:]
    var pollers: [String: URLPoller] = [:]
    var staleTimers: [String: any ScheduledWork] = [:]
    var silenceTimers: [String: any ScheduledWork] = [:]
    var flushTimer: (any ScheduledWork)?
    var watchdogTimer: DispatchSourceTimer?
    var pruneTimer: (any ScheduledWork)?
    var idleTrimTimer: DispatchSourceTimer?
    var digestTimers: [String: any ScheduledWork] = [:]
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
    /// `control.admin_group` as last loaded: write commands are checked on the control server's queue
    /// while a reload replaces `loaded` on the engine queue, so the checker reads this copy behind a lock.
    let adminGroup = Mutex<String?>(nil)
    /// The outbox counts `status` last read, shown while the state cannot be read.
    var lastOutboxCounts = OutboxCounts()
    /// Each source's latest drop record, read from the store once and forgotten when a drop is recorded.
    var lastDrops: [String: DropRecord?] = [:]

    public init(options: DaemonOptions) throws(ConfigLoadFailure) {
        self.options = options
        log = options.log
        scheduler = options.scheduler
        startedAt = options.scheduler.now()
        configLoadedAt = startedAt
        let loaded = try loadValidatedConfig(path: options.configPath).get()
        self.loaded = loaded
        adminGroup.withLock { $0 = loaded.configuration.control.adminGroup }
        configSHA256 = sha256Hex(loaded.contents)
        let c = loaded.configuration
        stateDirectory = options.stateDirectory ?? c.stateDirectory
        socketPath = options.socketPath ?? c.control.socket
        alerting = AlertingState(configuration: c)
        renderer = MessageRenderer(configuration: c)
    }

    /// Starts everything; returns once the daemon is ready (READY=1 sent). Throws a message for the
    /// operator when it cannot start (corrupt state, database unreachable, socket in use). On PostgreSQL
    /// a daemon that does not get the `active` lease starts as a standby (`Daemon+Cluster.swift`).
    public func start() throws(DaemonStartError) {
        for w in loaded.warnings { log.warning("config: \(w)") }
        try openStore()
        if cluster == nil { try loadState() }
        control = ControlServer(path: socketPath, mode: loaded.configuration.control.mode, log: log) { [weak self] request, reply in
            guard let self else { return reply(.failure(ControlError(.internal, "shutting down"))) }
            self.handle(request, reply: reply)
        }
        do {
            try control.start()
        } catch {
            throw DaemonStartError(message: error.message)
        }
        if options.handlesSignals { installSignals() }
        if cluster != nil {
            queue.sync { clusterTick() }
        } else {
            queue.sync { startWork() }
        }
        SystemdNotify.send("READY=1\nSTATUS=\(statusLine())")
        log.info("tidemark \(TidemarkVersion.current) ready", [("config", options.configPath), ("socket", socketPath),
                                                                ("state", store.path)])
    }

    /// SQLite in `state_dir`, or the PostgreSQL database the config names.
    func openStore() throws(DaemonStartError) {
        do {
            if let pg = loaded.configuration.postgres {
                let shared = try PostgresStore(url: pg.url, password: pg.password?.reveal())
                store = shared
                cluster = ClusterMember(store: shared, lease: pg.lease)
            } else {
                store = try Store(directory: stateDirectory)
            }
        } catch {
            throw DaemonStartError(message: error.description)
        }
    }

    /// Reads history, alerts, groups, silences and acknowledgements into the engine, as at every start.
    func loadState() throws(DaemonStartError) {
        do {
            let cutoff = AsOf(date: now().addingTimeInterval(-loaded.configuration.retention.seconds))
            let series = try store.loadSeries(since: cutoff)
            let c = loaded.configuration
            alerting = AlertingState(
                engine: Engine(configuration: c, series: series, alerts: try store.activeAlerts(),
                               acknowledgements: try store.acknowledgements(), silences: try store.silences()),
                dispatcher: Dispatcher(routes: c.routes, timeZone: AlertingState.timeZone(c), groups: try store.groups()))
            lastAcceptedDrop = try store.lastAcceptedDrops()
            lastDrops = [:]
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
                              },
                              scheduler: scheduler)
    }

    /// Sources, timers and deliveries: the work only the daemon that owns the state does.
    func startWork() {
        dispatchPrecondition(condition: .onQueue(queue))
        startSources()
        scheduleAllStaleChecks()
        for s in engine.silences where s.endsAt > now() { scheduleSilenceEnd(s) }
        flushDue()
        schedulePrune()
        scheduleDigests()
        startWatchdog()
        startMetricsTextfile()
        scheduleIdleTrim()
        metrics.prepare(for: loaded.configuration)
        NetworkDelivery.prepare(for: loaded.configuration.receivers)
        outbox.start()
    }

    /// One line of health for `STATUS=`.
    func statusLine() -> String {
        let firing = engine.activeAlerts.filter { $0.phase == .firing }.count
        let counts = (try? store.outboxCounts()) ?? OutboxCounts()
        if let cluster, cluster.role != .active {
            return "standby (\(cluster.refusal ?? "another daemon holds the active lease")); database \(store.path)"
        }
        let line = "\(loaded.configuration.sources.count) sources, \(firing) firing, outbox \(counts.pending + counts.retrying) queued, \(counts.dead) dead"
        guard let fault = stateFault else { return line }
        return "STATE NOT WRITABLE since \(rfc3339(fault.since)): \(fault.error.prefix(120).replacingOccurrences(of: "\n", with: " ")); " + line
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
        let now = self.now()
        switch loadValidatedConfig(path: options.configPath) {
        case .failure(let failure):
            lastReload = (now, false, failure.errors.joined(separator: "; "))
            auditConfigLoad(cause: cause, ok: false, detail: failure.errors.joined(separator: "; "))
            log.error("reload failed; keeping the running config", [("errors", "\(failure.errors.count)")])
            for e in failure.errors { log.error("  \(e)") }
            return .failure(failure)
        case .success(let newLoaded) where cluster != nil && cluster?.role != .active:
            // A standby has no engine to re-evaluate: it takes the config, and its next heartbeat
            // publishes the new SHA-256 (which decides whether it may take work).
            loaded = newLoaded
            adminGroup.withLock { $0 = newLoaded.configuration.control.adminGroup }
            configSHA256 = sha256Hex(newLoaded.contents)
            configLoadedAt = now
            lastReload = (now, true, nil)
            log.info("config reloaded (standby)", [("sha256", String(configSHA256.prefix(12)))])
            return .success((configSHA256, now))
        case .success(let newLoaded):
            let c = newLoaded.configuration
            let change: AlertingChange
            do {
                change = try advance({ $0.reload(c, now: now) }, record: { change, _ in try store.commitAlertChanges(change) })
            } catch {
                let message = "cannot record the reload: \(error)"
                lastReload = (now, false, message)
                log.error(message)
                return .failure(ConfigLoadFailure(errors: [message]))
            }
            stopSources()
            loaded = newLoaded
            adminGroup.withLock { $0 = newLoaded.configuration.control.adminGroup }
            configSHA256 = sha256Hex(newLoaded.contents)
            configLoadedAt = now
            renderer = MessageRenderer(configuration: c)
            startMetricsTextfile()
            outbox.update(configuration: c)
            metrics.prepare(for: c)
            NetworkDelivery.prepare(for: c.receivers)
            lastReload = (now, true, nil)
            auditConfigLoad(cause: cause, ok: true, detail: nil)
            for w in newLoaded.warnings { log.warning("config: \(w)") }
            logTransitions(change.transitions)
            startSources()
            scheduleAllStaleChecks()
            scheduleDigests()
            flushDue()
            log.info("config reloaded", [("sha256", String(configSHA256.prefix(12)))])
            return .success((configSHA256, now))
        }
    }

    /// Stops sources and timers, gives in-flight deliveries up to 10 s, then exits 0.
    func shutdown() {
        guard !stopping else { return }
        let drained = stop(timeout: 10)
        log.info(drained ? "stopped" : "stopped; undelivered notifications resume at next start")
        exit(0)
    }

    /// Stops an in-process daemon (a test's) as SIGTERM would, without exiting; true when every
    /// in-flight delivery finished within `timeout`.
    public func stopInProcess(timeout: Double = 10) -> Bool {
        queue.sync { stopping ? true : stop(timeout: timeout) }
    }

    /// Everything `shutdown` does before exiting: sources, timers and the socket stop, deliveries drain,
    /// and the active lease is handed back.
    func stop(timeout: Double) -> Bool {
        dispatchPrecondition(condition: .onQueue(queue))
        stopping = true
        SystemdNotify.send("STOPPING=1")
        stopSources()
        let scheduled: [any ScheduledWork] = Array(staleTimers.values) + Array(silenceTimers.values) + Array(digestTimers.values)
            + [flushTimer, pruneTimer].compactMap { $0 }
        for t in scheduled { t.cancel() }
        watchdogTimer?.cancel()
        idleTrimTimer?.cancel()
        textfileTimer?.cancel()
        for s in signalSources { s.cancel() }
        control.stop()
        let drained = outbox?.stop(timeout: timeout) ?? true
        cluster?.release(log: log)
        return drained
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
