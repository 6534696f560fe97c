import Dispatch
import Foundation
import TidemarkControl
import TidemarkCore
import TidemarkStore

/// Standby and active on a shared PostgreSQL state (SPEC §18; `ClusterMember` says how it works).
extension Daemon {
    /// One heartbeat: renews the lease, or tries for it, and acts on what happened.
    func clusterTick() {
        dispatchPrecondition(condition: .onQueue(queue))
        guard let cluster, !stopping else { return }
        let wasRole = cluster.role
        switch cluster.tick(configSHA256: configSHA256, log: log) {
        case .nothing:
            if wasRole != cluster.role { SystemdNotify.send("STATUS=\(statusLine())") }
        case .becameActive(let term):
            log.info("took the active lease; loading the shared state", [("term", "\(term)"), ("daemon", cluster.id)])
            do {
                try loadState()
            } catch {
                log.error("\(error); exiting so systemd starts this daemon again")
                exit(1)
            }
            startWork()
            noteChange()
            SystemdNotify.send("STATUS=\(statusLine())")
        case .lostLease(let term):
            // Another daemon took over while this one could not renew (paused, or cut off from the
            // database): its in-memory state may be behind the shared state, so it starts again.
            log.error("lost the active lease (term \(term)) to another daemon; exiting so systemd restarts this one as a standby")
            exit(1)
        }
        startWatchdog()
        cluster.schedule(on: queue) { [weak self] in self?.clusterTick() }
    }

    /// A standby answers what the shared database holds (`ControlCommand.answeredByStandby`); the other
    /// commands need the state a standby has not loaded, so the refusal names the daemon to ask.
    func standbyRefusal(_ command: ControlCommand) -> ControlError? {
        guard let cluster, cluster.role != .active, !command.answeredByStandby else { return nil }
        let holder = (try? cluster.store.clusterLeases())?.first { $0.name == "active" && $0.held }?.holder
        return ControlError(.invalid, "this daemon is a standby (\(cluster.refusal ?? "it does not hold the active lease")); " +
                            "send \(command.rawValue) to the active daemon" + (holder.map { " (\($0))" } ?? ""))
    }
}
