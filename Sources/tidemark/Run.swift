import ArgumentParser
import Dispatch
import Foundation
import TidemarkConfig
import TidemarkDaemon

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the daemon in the foreground (systemd runs this).",
        discussion: """
            Loads the config, opens the state database (refusing to start if it is damaged), binds the \
            control socket, scans every source for drops that landed while it was down, and then watches. \
            Sends READY=1, STATUS=, WATCHDOG=1, RELOADING=1 and STOPPING=1 on $NOTIFY_SOCKET when set. \
            SIGHUP reloads the config; SIGTERM and SIGINT stop gracefully (exit 0).

            Exit status: 0 after a clean stop, 1 when it cannot start (invalid config, damaged state, \
            another daemon on the socket).
            """
    )

    @OptionGroup var options: ConfigOption
    @Option(name: .long, help: ArgumentHelp("State directory (overrides state_dir).", valueName: "dir")) var stateDir: String?
    @Option(name: .long, help: ArgumentHelp("Control socket path (overrides control.socket).", valueName: "path")) var socket: String?
    @Option(name: .long, help: ArgumentHelp("debug, info, warning or error.", valueName: "level")) var logLevel: String = "info"
    @Option(name: .long, help: ArgumentHelp("text or json.", valueName: "format")) var logFormat: String = "text"

    func validate() throws {
        guard LogLevel(rawValue: logLevel) != nil else { throw ValidationError("--log-level must be debug, info, warning or error") }
        guard Log.Format(rawValue: logFormat) != nil else { throw ValidationError("--log-format must be text or json") }
    }

    func run() throws {
        let log = Log(level: LogLevel(rawValue: logLevel)!, format: Log.Format(rawValue: logFormat)!)
        let path = options.resolvedPath
        let daemon: Daemon
        do {
            daemon = try Daemon(options: DaemonOptions(configPath: path, stateDirectory: stateDir, socketPath: socket, log: log))
        } catch {
            for e in error.errors { log.error("config: \(e)") }
            log.error("\(path): invalid config (\(count(error.errors.count, "error"))); not starting")
            throw ExitCode(1)
        }
        do {
            try daemon.start()
        } catch {
            log.error(error.message)
            throw ExitCode(1)
        }
        dispatchMain()
    }
}
