#!/bin/sh
# The image's entrypoint, as the official redis image's docker-entrypoint.sh:
#   docker run shardis                                  -> shardis
#   docker run shardis /usr/local/etc/redis/redis.conf  -> shardis with that config file
#   docker run shardis --maxmemory 100mb                -> shardis with those options
#   docker run shardis sh                               -> any other command as it is
set -e

# The first argument is an option (-x / --x) or a config file (*.conf): it is shardis's.
if [ "${1#-}" != "$1" ] || [ "${1%.conf}" != "$1" ]; then
	set -- shardis "$@"
fi

if [ "$1" = 'shardis' ]; then
	shift
	# The official image builds redis with protected mode off (a container is reached through its
	# published ports, never from loopback). Options given here must not turn it back on: unless
	# the config file or the arguments set protected-mode themselves, it is off.
	explicit=no
	for a in "$@"; do
		case "$a" in
			--protected-mode|--protected-mode\ *) explicit=yes ;;
		esac
	done
	conf=
	if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
		conf=$1
		shift
		if grep -qiE '^[[:space:]]*protected-mode[[:space:]]' "$conf" 2>/dev/null; then explicit=yes; fi
	fi
	if [ $explicit = no ]; then
		set -- --protected-mode no "$@"
	fi
	if [ -n "$conf" ]; then
		set -- "$conf" "$@"
	fi
	# bin/shardis raises the open-files limit for maxclients, as redis-server does.
	set -- "$(dirname "$0")/../bin/shardis" "$@"
fi

exec "$@"
