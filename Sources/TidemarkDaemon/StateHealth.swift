import Dispatch
import Foundation
import TidemarkCore
import TidemarkNotify

/// Visible state faults (SPEC §17): when the state database cannot be written (disk full, read-only),
/// `status` shows `state: {ok: false, error, since}`, `STATUS=` says so, `tidemark_state_write_errors_total`
/// counts, and what could not be recorded is retried — drops are found again by a rescan (they were never
/// marked seen), URL sources fetch their body again — until a write succeeds.
extension Daemon {
    func stateWriteFailed(_ error: any Error) {
        metrics.count("state_write_errors")
        guard stateFault == nil else { return }
        stateFault = (error: "\(error)", since: now())
        log.error("state: cannot write to \(store.path): \(error); drops wait where they are and are retried every 5s")
        SystemdNotify.send("STATUS=\(statusLine())")
        scheduleStateRetry()
    }

    func stateWriteSucceeded() {
        guard let fault = stateFault else { return }
        stateFault = nil
        log.info("state: writable again", [("since", rfc3339(fault.since))])
        SystemdNotify.send("STATUS=\(statusLine())")
        noteChange()
        // After whatever write just succeeded has been adopted: `state_unavailable` says how long and why.
        queue.async { [weak self] in
            guard let self, !self.stopping else { return }
            self.applyAlertChange("the state's recovery") { $0.stateWasUnavailable(since: fault.since, error: fault.error, now: self.now()) }
        }
    }

    /// Every 5 s while the fault lasts: a probe write, and every source looked at again.
    func scheduleStateRetry() {
        queue.asyncAfter(deadline: .now() + .seconds(5)) { [weak self] in
            guard let self, !self.stopping, self.stateFault != nil else { return }
            do {
                try self.store.probeWrite()
                self.stateWriteSucceeded()
            } catch {
                self.metrics.count("state_write_errors")
            }
            for w in self.watchers.values { w.rescanSoon() }
            for p in self.pollers.values { p.pollSoon() }
            if self.stateFault != nil { self.scheduleStateRetry() }
        }
    }

    var stateJSON: JSON {
        guard let fault = stateFault else { return .object([("ok", .bool(true)), ("error", .null), ("since", .null)]) }
        return .object([("ok", .bool(false)), ("error", .string(fault.error)), ("since", .string(rfc3339(fault.since)))])
    }
}

/// Deliveries refused by the allow-lists raise `delivery_refused`; a later success resolves it.
extension Daemon {
    func deliveryRefused(receiver: String, reason: String) {
        applyAlertChange("the refused delivery") { $0.deliveryRefused(receiver: receiver, reason: reason, now: now()) }
    }

    func deliveryAllowed(receiver: String) {
        guard engine.hasAlerts(of: BuiltinRule.deliveryRefused) else { return } // the usual case, at once
        let id = Alert.id(rule: BuiltinRule.deliveryRefused, labels: Labels(["receiver": receiver]))
        guard engine.alert(id: id) != nil else { return }
        applyAlertChange("the allowed delivery") { $0.deliveryAllowedAgain(receiver: receiver, now: now()) }
    }
}
