# Release builds for the Raspberry Pi and amd64: `make dist` (README,
# "Install on a Raspberry Pi"). Development needs none of this: go build and
# go test -race ./... (README, "Build and test").
#
#   make dist          static binaries and .debs in dist/, with SHA256SUMS
#   make print-flags   the static build flags, for other tools (bench/load)
#   make print-version the version it stamps
#   make toolchains    install the missing cross compilers (apt-get)
#   make clean         remove dist/
#
# The same commit gives byte-identical binaries and .debs: -trimpath, an
# empty Go build id, no VCS stamp, fixed cgo flags, and every date taken from
# the commit (SOURCE_DATE_EPOCH). scripts/test-dist checks them under qemu.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DELETE_ON_ERROR:
.SECONDEXPANSION:

GO ?= go
DIST ?= dist

# The static build, in one place. The tags: SQLite without extension loading
# (a static binary cannot load shared objects), Go's own DNS and user
# lookups instead of glibc's (which a static glibc cannot do), and net/http
# without HTTP/2, which the API never speaks and which costs 0.2-0.5 MB of
# memory. -s -w strip the symbol table and DWARF; -buildid= empties the Go
# build id, which would otherwise differ with the paths of the build. C code
# (SQLite) at -Os: 0.4 MB less resident than Go's default -O2. SQLite
# without what bridged never uses (FTS3, R*Tree, JSON ...: 0.18 MB), from
# build/sqlite.h, which says what and why; its hash is in the flags because
# Go's build cache keys on them and not on a file given by -include. The C
# code without unwind tables (.eh_frame: nothing unwinds C frames, Go never
# does and there is no C++), and each function in a section of its own, so
# that the linker's --gc-sections drops what nothing calls (SQLite's unused
# API, bits of glibc): 0.12 MB less program together.
TAGS := sqlite_omit_load_extension netgo osusergo nethttpomithttp2
STATIC_LDFLAGS := -s -w -buildid= -extldflags '-static -Wl,--gc-sections'
SQLITE_H := $(CURDIR)/build/sqlite.h
STATIC_CGO_CFLAGS := -Os -fno-asynchronous-unwind-tables -fno-unwind-tables -ffunction-sections -fdata-sections \
	-include $(SQLITE_H) -DBRIDGED_SQLITE_H=$(shell sha256sum $(SQLITE_H) | cut -c1-16)

# nfpm builds the .debs. It is run at a pinned version and stays out of
# go.mod: about 70 modules the daemon does not need. 2.48.0 builds with the
# go1.26 toolchain; LIBRARIES.md names 2.45.2, which works too.
NFPM_VERSION := v2.48.0
NFPM := $(GO) run github.com/goreleaser/nfpm/v2/cmd/nfpm@$(NFPM_VERSION)

# What the binaries say in `bridged version`, all from the commit: the same
# commit stamps the same bytes, whenever and wherever it is built. A tree
# with uncommitted changes says so in the commit (-dirty) but keeps the date.
# Outside a git checkout (a source tarball, whose files git archive dates
# at the commit) the commit is "unknown" and the date SOURCE_DATE_EPOCH
# from the environment, else the newest file's: still reproducible.
INGIT := $(shell git rev-parse --is-inside-work-tree 2>/dev/null)
ifeq ($(INGIT),true)
COMMIT := $(shell git rev-parse HEAD)$(shell git diff --quiet HEAD -- 2>/dev/null || echo -dirty)
SOURCE_DATE_EPOCH := $(shell git log -1 --format=%ct)
SHORT := $(shell git rev-parse --short=12 HEAD)
else
COMMIT := unknown
ifeq ($(origin SOURCE_DATE_EPOCH),undefined)
# := so that the tree is walked once, not at every expansion.
SOURCE_DATE_EPOCH := $(shell find . \( -name dist -o -name .git \) -prune -o -type f -printf '%T@\n' | sort -n | tail -1 | cut -d. -f1)
endif
SHORT := unknown
endif
export SOURCE_DATE_EPOCH
BUILD_DATE := $(shell date -u -d @$(SOURCE_DATE_EPOCH) +%Y-%m-%dT%H:%M:%SZ)
# A tag vX.Y.Z makes the version X.Y.Z; without one it is 0.0.0~git, the
# commit's UTC time and the short hash: dpkg orders those by commit time and
# below any release ("~").
VERSION ?= $(shell v=$$(git describe --tags --exact-match --match 'v[0-9]*' 2>/dev/null) && echo "$${v#v}" \
	|| echo "0.0.0~git$$(date -u -d @$(SOURCE_DATE_EPOCH) +%Y%m%d%H%M%S).$(SHORT)")

STAMP := -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.buildDate=$(BUILD_DATE)

# Per target: Go's architecture, the C cross compiler and its Debian package.
# armv6 (Pi Zero and 1) is built with Debian's armel compiler (ARMv5TE,
# soft-float calls): statically linked, the binary never meets the Pi's
# hard-float libraries, and the Go code uses the ARMv6 VFP (GOARM=6).
GOARCH_amd64 := amd64
GOARCH_arm64 := arm64
GOARCH_armv7 := arm
GOARCH_armv6 := arm
GOENV_amd64 := GOAMD64=v1
GOENV_arm64 := GOARM64=v8.0
GOENV_armv7 := GOARM=7
GOENV_armv6 := GOARM=6
CC_amd64 := x86_64-linux-gnu-gcc
CC_arm64 := aarch64-linux-gnu-gcc
CC_armv7 := arm-linux-gnueabihf-gcc
CC_armv6 := arm-linux-gnueabi-gcc
PKG_amd64 := gcc libc6-dev
PKG_arm64 := gcc-aarch64-linux-gnu libc6-dev-arm64-cross
PKG_armv7 := gcc-arm-linux-gnueabihf libc6-dev-armhf-cross
PKG_armv6 := gcc-arm-linux-gnueabi libc6-dev-armel-cross

TARGETS := amd64 arm64 armv7 armv6
BINARIES := $(TARGETS:%=$(DIST)/bridged-linux-%)

# The .debs: amd64, arm64 and armhf. armhf carries the armv6 binary, because
# Raspberry Pi OS's armhf is ARMv6 with hard-float (unlike Debian's, which
# is ARMv7): one package for every 32-bit Pi, the Zero and 1 included. The
# armv7 binary stays in dist/ for a Pi 2 or later that wants it by hand.
DEB_VERSION := $(VERSION)
MAINTAINER := bridged maintainers <maintainers@users.noreply.r-seed-c58f6cbc.example>
export MAINTAINER
DEBS := $(DIST)/bridged_$(DEB_VERSION)_amd64.deb $(DIST)/bridged_$(DEB_VERSION)_arm64.deb $(DIST)/bridged_$(DEB_VERSION)_armhf.deb
DEBBIN_amd64 := amd64
DEBBIN_arm64 := arm64
DEBBIN_armhf := armv6

.PHONY: dist binaries debs toolchains print-flags print-version clean FORCE

dist: binaries debs
	cd $(DIST) && sha256sum $(notdir $(BINARIES) $(DEBS)) > SHA256SUMS
	@cd $(DIST) && ls -l $(notdir $(BINARIES) $(DEBS))

binaries: $(BINARIES)
debs: $(DEBS)

# One KEY=VALUE a line: the tags, the linker flags (without the version
# stamp) and CGO_CFLAGS of the static build.
print-flags:
	@echo 'tags=$(TAGS)'
	@echo "ldflags=$(STATIC_LDFLAGS)"
	@echo 'cgo_cflags=$(STATIC_CGO_CFLAGS)'

# The version the binaries and .debs get (scripts/test-dist checks it).
print-version:
	@echo '$(VERSION)'

# Installs the C compilers of the targets whose compiler is missing, with
# sudo unless root.
toolchains:
	@need=(); \
	$(foreach t,$(TARGETS),command -v $(CC_$(t)) >/dev/null || need+=($(PKG_$(t)));) \
	if (($${#need[@]})); then \
		sudo=""; [ "$$(id -u)" -eq 0 ] || sudo=sudo; \
		echo "installing $${need[*]}"; \
		$$sudo apt-get update -q; \
		$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$${need[@]}"; \
	fi

# Go decides what to rebuild (its cache makes a warm build a link), so the
# binaries are always remade. The cgo variables are set, even empty, so that
# none from the caller's environment slips into a release.
$(DIST)/bridged-linux-%: FORCE | toolchains
	@mkdir -p $(DIST)
	env CGO_ENABLED=1 GOOS=linux GOARCH=$(GOARCH_$*) $(GOENV_$*) CC=$(CC_$*) \
		CGO_CFLAGS='$(STATIC_CGO_CFLAGS)' CGO_CPPFLAGS= CGO_CXXFLAGS= CGO_LDFLAGS= GOFLAGS=-buildvcs=false \
		$(GO) build -trimpath -tags '$(TAGS)' -ldflags "$(STATIC_LDFLAGS) $(STAMP)" -o $@ ./cmd/bridged

# Packaging inputs generated from the tree: the packaged configuration (from
# config.example.toml) and the changelog.
$(DIST)/pkg/bridged.toml: config.example.toml packaging/mkconfig
	@mkdir -p $(@D)
	packaging/mkconfig config.example.toml > $@

$(DIST)/pkg/changelog.gz: FORCE
	@mkdir -p $(@D)
	packaging/mkchangelog '$(DEB_VERSION)' | gzip -9n > $@

$(DIST)/bridged_$(DEB_VERSION)_%.deb: $(DIST)/bridged-linux-$$(DEBBIN_$$*) $(DIST)/pkg/bridged.toml $(DIST)/pkg/changelog.gz packaging/nfpm.yaml packaging/postinst packaging/prerm packaging/postrm packaging/copyright deploy/bridged.service deploy/bridged.sysusers deploy/99-bridged.rules
	env DEB_ARCH=$* BINARY=$< PKGDIR=$(DIST)/pkg VERSION=$(DEB_VERSION) \
		$(NFPM) package --config packaging/nfpm.yaml --packager deb --target $@

clean:
	rm -rf $(DIST)

FORCE:
