# Tidemark build entry points. `make test` and `make demo` are the two set-up commands:
# each installs the Debian packages it needs (when missing), builds and runs.

SWIFT        ?= swift
PREFIX       ?= /usr/local
DESTDIR      ?=
BINDIR        = $(DESTDIR)$(PREFIX)/bin
UNITDIR      ?= $(DESTDIR)/etc/systemd/system
SYSUSERSDIR  ?= $(DESTDIR)/usr/lib/sysusers.d
CONFDIR      ?= $(DESTDIR)/etc/tidemark

# Build-time libraries (SPEC §13) and the real servers the tests talk to on loopback.
APT_BUILD     = libcurl4-openssl-dev libpq-dev libsqlite3-dev libssl-dev zlib1g-dev libcairo2-dev fonts-dejavu-core pkg-config
APT_TEST      = postgresql-15 python3-aiosmtpd openssl systemd python3-prometheus-client python3-openpyxl chromium
APT_PACKAGES  = $(APT_BUILD) $(APT_TEST)

.PHONY: all build release test deps install clean demo bench bench-reader bench-xlsx bench-engine bench-history bench-fanout bench-e2e bench-ha bench-digest bench-burst bench-idle fuzz soak soak-ha

all: build

# Installs only what dpkg says is missing; `apt-get update` runs only when something is.
deps:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=""; [ "$$(id -u)" -ne 0 ] && SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release --static-swift-stdlib

test: deps
	$(SWIFT) build
	$(SWIFT) test

demo: deps
	$(SWIFT) build
	bash scripts/demo.sh

install: release
	install -d $(BINDIR) $(UNITDIR) $(SYSUSERSDIR) $(CONFDIR)
	install -m 0755 "$$($(SWIFT) build -c release --static-swift-stdlib --show-bin-path)/tidemark" $(BINDIR)/tidemark
	install -m 0644 systemd/tidemark.service $(UNITDIR)/tidemark.service
	install -m 0644 systemd/tidemark.sysusers $(SYSUSERSDIR)/tidemark.conf
	[ -e $(CONFDIR)/tidemark.yml ] || install -m 0640 Config/tidemark.yml $(CONFDIR)/tidemark.yml

# Release-mode benchmarks (Benchmarks/ is its own package, so `make test` never builds it).
bench: bench-reader bench-xlsx bench-engine bench-history bench-fanout bench-e2e bench-ha bench-digest bench-burst bench-idle

APT_BENCH     = time util-linux

bench-reader: deps
	@$(MAKE) --no-print-directory deps APT_PACKAGES="$(APT_BENCH)"
	bash Benchmarks/reader-bench.sh

# The xlsx reader against fastexcel (calamine) on the same workbook; peak RSS as rows grow.
bench-xlsx: deps
	@$(MAKE) --no-print-directory deps APT_PACKAGES="$(APT_BENCH)"
	bash Benchmarks/xlsx-bench.sh

clean:
	rm -rf .build .build-* Benchmarks/.build Fuzz/.build Fuzz/crashes .demo

# A 50-rule digest with charts, and one chart against matplotlib (Debian's python3-matplotlib).
bench-digest: deps
	@$(MAKE) --no-print-directory deps APT_PACKAGES="python3-matplotlib"
	bash Benchmarks/digest-bench.sh

bench-engine: deps
	cd Benchmarks && $(SWIFT) build -c release --product engine-bench && ./.build/release/engine-bench

bench-fanout: deps
	bash Benchmarks/fanout-bench.sh

# 10 years of daily points for 10,000 series in a real state database (built once with sqlite3, ~1 GB
# in /tmp/tidemark-bench), loaded as at start and evaluated, with peak RSS.
bench-history: deps
	@$(MAKE) --no-print-directory deps APT_PACKAGES="$(APT_BENCH) sqlite3"
	bash Benchmarks/history-bench.sh

# The release binary end to end: drop → webhook latency, status with 50 clients, idle RSS/CPU/wake-ups.
bench-e2e: release
	cd Benchmarks && $(SWIFT) build -c release --product status-bench
	/usr/bin/python3 Benchmarks/e2e-bench.py

# Two machines on PostgreSQL (issue #19): drop → webhook with the state on PostgreSQL and on SQLite in the
# same run, and failover after a SIGKILL mid-delivery; then libpq against PostgresNIO (build, size, memory).
bench-ha: release
	/usr/bin/python3 Benchmarks/ha-bench.py
	/usr/bin/python3 Benchmarks/pg-client-compare.py

# A burst of 1,000 and 10,000 alerts, each its own notification, against Alertmanager with the same
# loopback receiver (Debian's prometheus-alertmanager; installed without starting its service), then
# where the time goes in-process (Benchmarks/Sources/burst-profile).
bench-burst: release
	@command -v prometheus-alertmanager >/dev/null || { printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; \
		chmod +x /usr/sbin/policy-rc.d; $(MAKE) --no-print-directory deps APT_PACKAGES="prometheus-alertmanager"; \
		rm -f /usr/sbin/policy-rc.d; }
	cd Benchmarks && $(SWIFT) build -c release --product burst-profile && ./.build/release/burst-profile 1000
	/usr/bin/python3 Benchmarks/burst-bench.py

# Idle memory (issue #17): tidemark on the demo config after the idle trim, Alertmanager and Monit, same
# run. The peers come from Debian and are installed without starting their services.
bench-idle: release
	@missing=""; command -v prometheus-alertmanager >/dev/null || missing="$$missing prometheus-alertmanager"; \
	command -v monit >/dev/null || missing="$$missing monit"; \
	if [ -n "$$missing" ]; then printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; \
		$(MAKE) --no-print-directory deps APT_PACKAGES="$$missing"; rm -f /usr/sbin/policy-rc.d; fi
	/usr/bin/python3 Benchmarks/idle-bench.py

# Crash and outage soak against an independent model of the notifications (scripts/soak.py --help).
SOAK_ARGS ?=
soak: deps
	$(SWIFT) build
	/usr/bin/python3 scripts/soak.py $(SOAK_ARGS)

# Three daemons on one PostgreSQL, killed and paused at random (scripts/soak-ha.py --help).
SOAK_HA_ARGS ?=
soak-ha: deps
	$(SWIFT) build
	/usr/bin/python3 scripts/soak-ha.py $(SOAK_HA_ARGS)

# libFuzzer over the CSV, JSON and xlsx readers, period labels and markers, the config loader, the expression parser and the control-socket
# request decoder, FUZZ_SECONDS each (Fuzz/ is its own package, built with -sanitize=fuzzer,address).
FUZZ_SECONDS ?= 60
fuzz: deps
	bash Fuzz/run.sh $(FUZZ_SECONDS)
