# scripts/lib.sh: what the test scripts share; sourced, not run.

# install_missing COMMAND=PACKAGE...: installs, with apt-get (through sudo
# unless root), the package of every command that is not on PATH.
install_missing() {
	local need=() pair sudo=""
	for pair in "$@"; do
		command -v "${pair%%=*}" >/dev/null || need+=("${pair#*=}")
	done
	((${#need[@]})) || return 0
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	$sudo apt-get update -q
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}"
}
