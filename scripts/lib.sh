# Helpers shared by scripts/docker-smoke and scripts/run-in-vm: `. scripts/lib.sh`.
# Messages go to stderr, so that stdout stays the caller's (run-in-vm's command output).
log() { printf '[%s] %s\n' "${0##*/}" "$*" >&2; }
die() { log "FAILED: $*"; exit "${DIE_STATUS:-1}"; }

# apt_install PACKAGE...: installs those not installed yet from Debian, as root.
apt_install() {
    local pkg missing=()
    for pkg; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' || missing+=("$pkg")
    done
    ((${#missing[@]})) || return 0
    log "apt-get install ${missing[*]} (log: /var/tmp/snekbox-apt.log)"
    { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
        --no-install-recommends "${missing[@]}"; } >>/var/tmp/snekbox-apt.log 2>&1 ||
        { tail -n 20 /var/tmp/snekbox-apt.log >&2; die "apt-get install ${missing[*]} failed"; }
}
