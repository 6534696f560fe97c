import Dispatch
import Foundation
import TidemarkControl
import TidemarkCore
import TidemarkNotify
import TidemarkStore

/// The control-socket commands (SPEC §8). Each runs on the engine queue, so it sees a consistent state.
extension Daemon {
    func handle(_ request: ControlRequest, reply plainReply: @escaping @Sendable (Result<String, ControlError>) -> Void) {
        let reply = audited(request, reply: plainReply)
        guard let command = request.known else {
            return reply(.failure(ControlError(.unknownCommand, "unknown command \"\(request.command)\" (commands: \(ControlCommand.wireNames))")))
        }
        // On the control server's queue: `loaded` is the engine queue's, so read the group's locked copy.
        if command.requiresAdmin {
            let group = adminGroup.withLock { $0 }
            guard request.peer.isAdmin(adminGroup: group) else {
                return reply(.failure(ControlError(.forbidden, "\(command.rawValue) needs root, the daemon's user or a member of \(group ?? "the admin group") (you are \(request.peer.userName))")))
            }
        }
        // A burst of `status` polls is answered from the cache without waiting for the engine queue.
        if command == .status, let text = validStatusCache(now: now()) { return reply(.success(text)) }
        queue.async { [self] in
            if let refusal = standbyRefusal(command) { return reply(.failure(refusal)) }
            if command == .testNotify { return testNotify(request, reply: reply) }
            defer { if command.requiresAdmin { noteChange() } }
            do {
                if command == .status { return reply(.success(try cachedStatus(now: now()))) }
                reply(.success(try execute(command, request).serialized()))
            } catch let e as ControlError {
                reply(.failure(e))
            } catch {
                reply(.failure(ControlError(.internal, "\(error)")))
            }
        }
    }

    /// `status` is what monitoring scripts poll, often many at once: its serialized result is kept until
    /// the state changes (`noteChange`) or the uptime second turns, so a burst of clients costs one build.
    func cachedStatus(now: Date) throws -> String {
        dispatchPrecondition(condition: .onQueue(queue))
        if let text = validStatusCache(now: now) { return text }
        // The key is taken before building, so a change made meanwhile invalidates what is built.
        let key = statusKey(now: now)
        let text = try status(now: now).serialized()
        statusCache.withLock { $0 = (key, text) }
        return text
    }

    func statusKey(now: Date) -> StatusCacheKey {
        StatusCacheKey(changes: changes.load(ordering: .acquiring), second: Int(now.timeIntervalSince(startedAt)))
    }

    func validStatusCache(now: Date) -> String? {
        let key = statusKey(now: now)
        return statusCache.withLock { cached in cached.flatMap { $0.key == key ? $0.text : nil } }
    }

    func execute(_ command: ControlCommand, _ r: ControlRequest) throws -> JSON {
        dispatchPrecondition(condition: .onQueue(queue))
        let now = self.now()
        switch command {
        case .status: return try status(now: now)
        case .sources: return .array(try loaded.configuration.sources.map { try sourceJSON($0, now: now) })
        case .drops:
            let limit = try positive(r, .limit, default: 20)
            if let s = r.string(.source), loaded.configuration.source(named: s) == nil {
                throw ControlError(.notFound, "no source named \"\(s)\"")
            }
            return .array(try store.drops(source: r.string(.source), limit: limit).map(dropJSON))
        case .alerts: return try alerts(r, now: now)
        case .rules: return rules()
        case .history: return try history(r)
        case .silenceAdd: return try addSilence(r, now: now)
        case .silenceList: return .array(engine.silences.map { silenceJSON($0, now: now) })
        case .silenceExpire:
            guard let id = r.string(.id) else { throw ControlError(.invalid, "silence.expire needs \"id\"") }
            var next = alerting
            guard let s = next.expireSilence(id: id, now: now) else { throw ControlError(.notFound, "no silence with id \(id)") }
            try store.saveSilence(s)
            alerting = next
            log.info("silence expired", [("id", id), ("by", r.peer.userName)])
            silenceEnded(id)
            return try JSON(result: Identified(id: id))
        case .ack: return try acknowledge(r, now: now)
        case .reload:
            switch reload(cause: "reload by \(r.peer.userName)") {
            case .success(let ok): return try JSON(result: Reloaded(sha256: ok.sha256, loadedAt: rfc3339(ok.loadedAt)))
            case .failure(let f): throw ControlError(.invalid, "config invalid; the running config stays:\n" + f.errors.joined(separator: "\n"))
            }
        case .outboxRetry:
            let n = try store.retryDead(id: r.string(.id), now: now)
            if let id = r.string(.id), n == 0 { throw ControlError(.notFound, "no dead delivery with id \(id)") }
            log.info("outbox: requeued dead deliveries", [("count", "\(n)"), ("by", r.peer.userName)])
            outbox.kick()
            return try JSON(result: Requeued(requeued: n))
        case .metrics: return .object([("text", .string(try metricsText(now: now)))])
        case .audit: return try auditJSON(r)
        case .chart: return try chart(r)
        case .digestPreview: return try digestPreview(r, now: now)
        case .testNotify: throw ControlError(.internal, "test-notify is answered asynchronously") // handled before
        }
    }

    func positive(_ r: ControlRequest, _ key: ControlArgument, default d: Int) throws -> Int {
        guard r[key] != nil else { return d }
        guard let n = r.int(key), n > 0 else { throw ControlError(.invalid, "\"\(key.rawValue)\" must be a positive integer") }
        return min(n, 10_000)
    }

    func status(now: Date) throws -> JSON {
        let active = engine.activeAlerts
        // While the state cannot be read (PostgreSQL down), the last counts read stand in: `status` is
        // what an operator runs to find out what is wrong, so it must answer.
        let counts = (try? store.outboxCounts()) ?? lastOutboxCounts
        lastOutboxCounts = counts
        let reload: JSON = lastReload.map {
            .object([("at", .string(rfc3339($0.at))), ("ok", .bool($0.ok)), ("error", .optional($0.error))])
        } ?? .null
        var fields: [(String, JSON)] = [
            ("version", .string(TidemarkVersion.current)),
            ("state", stateJSON),
            ("pid", .int(Int(getpid()))),
            ("started_at", .string(rfc3339(startedAt))),
            ("uptime_seconds", .int(Int(now.timeIntervalSince(startedAt)))),
            ("config", .object([("path", .string(options.configPath)), ("sha256", .string(configSHA256)),
                                ("loaded_at", .string(rfc3339(configLoadedAt))), ("last_reload", reload)])),
            ("sources", .array(try loaded.configuration.sources.map { try sourceJSON($0, now: now) })),
            ("alerts", .object([
                ("pending", .int(active.filter { $0.phase == .pending }.count)),
                ("firing", .int(active.filter { $0.phase == .firing }.count)),
                ("silenced", .int(active.filter { !engine.silencedBy($0, at: now).isEmpty }.count)),
                ("acknowledged", .int(active.filter { engine.acknowledgements[$0.id] != nil }.count)),
            ])),
            ("outbox", .object([("pending", .int(counts.pending)), ("retrying", .int(counts.retrying)), ("dead", .int(counts.dead))])),
            ("last_evaluation_at", engine.lastEvaluationAt.map { .string(rfc3339($0)) } ?? .null),
        ]
        if let cluster { fields.append(("cluster", cluster.statusJSON())) }
        return .object(fields)
    }

    func sourceJSON(_ s: SourceConfig, now: Date) throws -> JSON {
        let location: String
        switch s.location {
        case .directory(let d): location = d.path
        case .url(let u): location = redactedURL(u.url)
        }
        let last = (try? lastDrop(source: s.name)) ?? nil
        let staleID = Alert.id(rule: BuiltinRule.sourceStale, labels: Labels(["source": s.name]))
        return .object([
            ("name", .string(s.name)), ("kind", .string(s.location.kind)), ("location", .string(location)),
            ("expect_every_seconds", s.expectEvery.map { .int(Int($0.milliseconds / 1000)) } ?? .null),
            ("stale", .bool(engine.alert(id: staleID) != nil)),
            ("last_drop", last.map(dropJSON) ?? .null),
            ("problem", directoryProblems[s.name].map(JSON.string) ?? .null),
        ])
    }

    func dropJSON(_ d: DropRecord) -> JSON {
        .object([
            ("id", .number(Double(d.id))), ("source", .string(d.source)), ("file", .string(d.file)), ("sha256", .string(d.sha256)),
            ("received_at", .string(rfc3339(d.receivedAt))), ("status", .string(d.status.rawValue)), ("as_of", .optional(d.asOf)),
            ("observations", .int(d.observations)), ("errors", .array(d.errors.map(JSON.string))),
            ("revised", .int(d.revised)), ("withdrawn", .int(d.withdrawn)),
        ])
    }

    func alerts(_ r: ControlRequest, now: Date) throws -> JSON {
        let state = r.string(.state)
        guard state == nil || ["pending", "firing", "all"].contains(state!) else {
            throw ControlError(.invalid, "\"state\" must be pending, firing or all")
        }
        if let rule = r.string(.rule), engine.rule(named: rule) == nil, !BuiltinRule.all.contains(rule) {
            throw ControlError(.notFound, "no rule named \"\(rule)\"")
        }
        let list = engine.activeAlerts.filter { a in
            (state == nil || state == "all" || a.phase.rawValue == state) && (r.string(.rule) == nil || a.rule == r.string(.rule))
        }
        return .array(list.map { alertJSON($0, now: now) })
    }

    func alertJSON(_ a: Alert, now: Date) -> JSON {
        let p = renderer.presentation
        let ack: JSON = engine.acknowledgements[a.id].map {
            .object([("by", .string($0.by)), ("at", .string(rfc3339($0.at))), ("comment", .string($0.comment))])
        } ?? .null
        let suppressed = p.isSuppressed(a.value, isCount: a.isCount)
        var fields: [(String, JSON)] = [
            ("id", .string(a.id)), ("rule", .string(a.rule)), ("labels", Labels(p.labels(a)).json),
            ("state", .string(a.phase.rawValue)), ("severity", .string(a.level == .critical ? "critical" : "warning")),
            ("value", suppressed ? .null : .number(a.value)), ("threshold", .string(a.threshold)),
            ("as_of", .string(a.asOf.description)), ("source", .string(a.source)), ("drop", .string(a.drop)),
            ("starts_at", .string(rfc3339(a.startsAt))),
            ("silenced_by", .array(engine.silencedBy(a, at: now).map(JSON.string))),
            ("acknowledged", ack),
            ("escalation", dispatcher.escalationStatus(alertID: a.id).map { e in
                .object([("due_at", e.dueAt.map { .string(rfc3339($0)) } ?? .null), ("done", .bool(e.settled)),
                         ("receivers", .array(e.receivers.map(JSON.string)))])
            } ?? .null),
            ("summary", .string(p.summary(a, templates: renderer.templates))),
            ("context", p.contextJSON(a)), ("signals", .array((a.signals ?? []).map(JSON.string))),
        ]
        if suppressed { fields.append(("suppressed", .bool(true))) }
        return .object(fields)
    }

    func rules() -> JSON {
        let active = engine.activeAlerts
        return .array(loaded.configuration.rules.map { rule in
            let firing = active.filter { $0.rule == rule.name && $0.phase == .firing }
            return .object([
                ("name", .string(rule.name)), ("expr", .string(rule.expr)),
                ("warn", .optional(rule.warn?.description)), ("crit", .optional(rule.crit?.description)),
                ("clear", .optional(rule.clear?.description)), ("for", .string(rule.forCondition.description)),
                ("series", .int(engine.seriesCounts[rule.name] ?? 0)),
                ("firing", .int(firing.count)),
                ("critical", .int(firing.filter { $0.level == .critical }.count)),
                ("warning", .int(firing.filter { $0.level == .warning }.count)),
                ("pending", .int(active.filter { $0.rule == rule.name && $0.phase == .pending }.count)),
            ])
        })
    }

    func history(_ r: ControlRequest) throws -> JSON {
        guard let metric = r.string(.metric), !metric.isEmpty else { throw ControlError(.invalid, "history needs \"metric\"") }
        let limit = try positive(r, .limit, default: 30)
        let wanted = try labelArguments(r)
        let known = try engine.series.metricNames.contains(metric) || !store.history(metric: metric, matching: { _ in true }, limit: 1).isEmpty
        guard known else {
            throw ControlError(.notFound, "no metric named \"\(metric)\"")
        }
        let rows = try store.history(metric: metric, matching: { l in wanted.allSatisfy { l[$0.key] == $0.value } }, limit: limit)
        let isCount = engine.series.isCount(metric)
        let p = renderer.presentation
        return .array(rows.map { row in
            let suppressed = row.value.map { p.isSuppressed($0, isCount: isCount) } ?? false
            var f: [(String, JSON)] = [("as_of", .string(row.asOf.description)),
                                       ("value", suppressed ? .null : row.value.map(JSON.number) ?? .null),
                                       ("drop", .string(row.drop)), ("labels", row.labels.json)]
            if suppressed { f.append(("suppressed", .bool(true))) }
            // A statistical symbol in place of a value (SPEC §14), and what a later release replaced.
            if let m = row.marker { f.append(("marker", .string(m.meaning))); f.append(("marker_text", .string(m.text))) }
            if let from = row.revisedFrom {
                let hidden = p.isSuppressed(from, isCount: isCount)
                f.append(("revised_from", hidden ? .null : .number(from)))
            } else if let from = row.revisedFromMarker {
                f.append(("revised_from", .null))
                f.append(("revised_from_marker", .string(from)))
            }
            return .object(f)
        })
    }

    /// `"labels": {"team": "North"}`, checked.
    func labelArguments(_ r: ControlRequest) throws -> [String: String] {
        var wanted: [String: String] = [:]
        if let labels = r[.labels] {
            guard case .object(let pairs) = labels else { throw ControlError(.invalid, "\"labels\" must be an object of strings") }
            for (k, v) in pairs {
                guard let s = v.stringValue else { throw ControlError(.invalid, "label \(k) must be a string") }
                wanted[k] = s
            }
        }
        return wanted
    }

    func addSilence(_ r: ControlRequest, now: Date) throws -> JSON {
        guard let list = r[.matchers]?.arrayValue, !list.isEmpty else {
            throw ControlError(.invalid, "silence.add needs \"matchers\": [\"label=value\", ...]")
        }
        var matchers: [LabelMatcher] = []
        for m in list {
            guard let text = m.stringValue, let parsed = LabelMatcher.parse(text) else {
                throw ControlError(.invalid, "bad matcher \(m.serialized()): use label=value, label!=value, label=~regex or label!~regex")
            }
            matchers.append(parsed)
        }
        let endsAt: Date
        if let d = r.string(.duration) {
            guard let span = TimeSpan.parse(d), span.milliseconds > 0 else { throw ControlError(.invalid, "bad duration \"\(d)\" (like 2h, 1d, 30m)") }
            endsAt = now.addingTimeInterval(span.seconds)
        } else if let e = r.string(.endsAt) {
            guard let date = ISO8601DateFormatter().date(from: e), date > now else {
                throw ControlError(.invalid, "\"ends_at\" must be a future RFC 3339 time such as 2026-11-23T09:00:00Z")
            }
            endsAt = date
        } else {
            throw ControlError(.invalid, "silence.add needs \"duration\" or \"ends_at\"")
        }
        guard let comment = r.string(.comment), !comment.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw ControlError(.invalid, "silence.add needs a \"comment\" saying why")
        }
        let silence = Silence(id: Daemon.newID(), matchers: matchers, startsAt: now, endsAt: endsAt,
                              author: r.string(.author) ?? r.peer.userName, comment: comment)
        try store.saveSilence(silence)
        alerting.addSilence(silence)
        scheduleSilenceEnd(silence)
        log.info("silence added", [("id", silence.id), ("matchers", matchers.map(\.text).joined(separator: ",")),
                                   ("ends_at", rfc3339(endsAt)), ("by", silence.author)])
        return try JSON(result: SilenceAdded(id: silence.id, endsAt: rfc3339(endsAt)))
    }

    func silenceJSON(_ s: Silence, now: Date) -> JSON {
        .object([
            ("id", .string(s.id)), ("matchers", .array(s.matchers.map { .string($0.text) })),
            ("starts_at", .string(rfc3339(s.startsAt))), ("ends_at", .string(rfc3339(s.endsAt))),
            ("author", .string(s.author)), ("comment", .string(s.comment)), ("active", .bool(s.isActive(at: now))),
        ])
    }

    func acknowledge(_ r: ControlRequest, now: Date) throws -> JSON {
        guard let id = r.string(.id) else { throw ControlError(.invalid, "ack needs \"id\"") }
        guard let alert = engine.alert(id: id) else { throw ControlError(.notFound, "no active alert with id \(id)") }
        let ack = Acknowledgement(alertID: id, by: r.string(.author) ?? r.peer.userName, at: now,
                                  comment: r.string(.comment) ?? "", level: alert.level)
        try store.saveAcknowledgement(ack)
        alerting.acknowledge(ack)
        log.info("alert acknowledged", [("id", id), ("rule", alert.rule), ("by", ack.by)])
        return try JSON(result: Identified(id: id))
    }

    func testNotify(_ r: ControlRequest, reply: @escaping @Sendable (Result<String, ControlError>) -> Void) {
        guard let name = r.string(.receiver) else { return reply(.failure(ControlError(.invalid, "test-notify needs \"receiver\""))) }
        guard let receiver = loaded.configuration.receivers.first(where: { $0.name == name }) else {
            let names = loaded.configuration.receivers.map(\.name).joined(separator: ", ")
            return reply(.failure(ControlError(.notFound, "no receiver named \"\(name)\" (receivers: \(names))")))
        }
        let now = self.now()
        let labels = Labels(["alertname": BuiltinRule.test, "source": "test-notify"])
        let alert = Alert(id: Alert.id(rule: BuiltinRule.test, labels: labels), rule: BuiltinRule.test,
                          seriesLabels: ["source": "test-notify"], phase: .firing, level: .warning, value: 1,
                          previousValue: nil, revisedFrom: nil, threshold: "test", asOf: AsOf(date: now), source: "test-notify",
                          drop: "", startsAt: now, firedAt: now, endsAt: nil, consecutive: 1, holdingSinceAsOf: AsOf(date: now))
        let note = AlertNotification(id: Daemon.newID(), groupKey: "test:{}", receivers: [name], groupLabels: ["alertname": BuiltinRule.test],
                                     status: "firing", alerts: [alert], createdAt: now, isRepeat: false)
        let payload = renderer.render(note, receiver: receiver, now: now)
        let worker = outbox!
        let log = self.log
        DispatchQueue.global().async {
            let outcome = worker.testDelivery(payload, notificationID: note.id, receiver: receiver)
            let (delivered, detail): (Bool, String)
            switch outcome {
            case .delivered(let d): (delivered, detail) = (true, d)
            case .retry(let e, _), .failed(let e): (delivered, detail) = (false, e)
            }
            log.info("test notification", [("receiver", name), ("delivered", "\(delivered)"), ("detail", detail)])
            let result = Result { try JSON(result: TestNotified(receiver: name, delivered: delivered, detail: detail)).serialized() }
            reply(result.mapError { ControlError(.internal, "\($0)") })
        }
    }
}
