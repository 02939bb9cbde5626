#!/bin/sh
# Charon container entrypoint: fixes permissions, maps the Docker socket group,
# starts Caddy and CrowdSec, waits for Caddy's admin API, then runs Charon
# as the unprivileged charon user.
set -e

PLUGINS_DIR="${CHARON_PLUGINS_DIR:-/app/plugins}"
DATA_DIR="${CHARON_DATA_DIR:-/app/data}"

is_root() {
    [ "$(id -u)" -eq 0 ]
}

run_as_charon() {
    if is_root; then
        su-exec charon "$@"
    else
        "$@"
    fi
}

log() {
    printf '[entrypoint] %s\n' "$*"
}

# Plugins must not be world-writable: Charon refuses to load them otherwise.
if [ -d "$PLUGINS_DIR" ]; then
    PERMS=$(stat -c '%a' "$PLUGINS_DIR")
    case "$PERMS" in
        *7|*6|*3|*2)
            log "plugins directory is world-writable ($PERMS), fixing"
            chmod o-w "$PLUGINS_DIR"
            ;;
    esac
fi

# Give charon access to the Docker socket for container discovery.
if [ -S /var/run/docker.sock ] && is_root; then
    DOCKER_SOCK_GID=$(stat -c '%g' /var/run/docker.sock)
    GROUP_NAME=$(getent group "$DOCKER_SOCK_GID" | cut -d: -f1)
    if [ -z "$GROUP_NAME" ]; then
        addgroup -g "$DOCKER_SOCK_GID" docker 2>/dev/null || true
        addgroup charon docker 2>/dev/null || true
    else
        addgroup charon "$GROUP_NAME" 2>/dev/null || true
    fi
    log "docker socket group: ${GROUP_NAME:-docker} ($DOCKER_SOCK_GID)"
fi

if is_root; then
    chown -R charon:charon "$DATA_DIR"
fi

# Start CrowdSec in the background when enabled.
if [ "${CHARON_CROWDSEC_ENABLED:-false}" = "true" ]; then
    log "starting CrowdSec"
    run_as_charon crowdsec -c /etc/crowdsec/config.yaml &
fi

log "starting Caddy"
caddy run --config /config/caddy.json --adapter json &
CADDY_PID=$!

# Wait for Caddy's admin API.
i=0
until wget -q --spider http://localhost:2019/config/; do
    i=$((i + 1))
    if [ "$i" -ge 30 ]; then
        log "Caddy did not become ready"
        kill "$CADDY_PID" 2>/dev/null || true
        exit 1
    fi
    sleep 1
done
wget -q --spider http://localhost:2019/config/ || exit 1
log "Caddy is ready"

exec su-exec charon /app/charon
