#!/usr/bin/env bash
# Container health probe: exits 0 when this container's service answers GET /readyz (or $1)
# with 200. Images carry no curl or wget. Bash, not Node: starting Node costs about 0.8
# CPU-seconds per probe on a small VM (measured), which would come out of the very CPU
# budget the benchmark measures; this costs about a tenth of that, runc's exec included.
port=${PORT:-8080}
exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 1
printf 'GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' "${1:-/readyz}" >&3
IFS= read -r -t 2 status <&3 || exit 1
[[ $status == "HTTP/1.1 200"* ]]
