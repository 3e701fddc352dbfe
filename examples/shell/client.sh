#!/bin/sh
# A v1-signing client for apiserver: POSIX sh, curl and openssl only.
#
# usage: client.sh [--credential FILE] [--cacert FILE] BASE_URL
#        client.sh --vectors docs/v1-vectors.json
#
# The credential file holds key_id=, version= and secret= lines (default:
# $APISERVER_CREDENTIAL).  Does a signed GET /api/whoami?x=1&y=a+b and a
# JSON POST /api/data, printing each response; exits 1 on any failure.
# --vectors recomputes every test vector and exits 1 on a mismatch (it
# reads the one-field-per-line layout of docs/v1-vectors.json).
#
# Caveat: `openssl dgst -hmac KEY` takes the key on its command line, so
# other local users can see it in the process list while it runs.  Use
# this script on a machine you do not share, or use the Python/Node ones.
# See docs/protocol.md for the scheme.
set -eu

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT HUP INT TERM

die() {
	printf 'client.sh: %s\n' "$*" >&2
	exit 1
}

# sha256_file FILE: lowercase hex SHA-256 of the file's raw bytes.
sha256_file() {
	openssl dgst -sha256 -r "$1" | cut -d' ' -f1
}

# hmac_file SECRET FILE: lowercase hex HMAC-SHA256 keyed with SECRET's
# bytes exactly (no newline added) over the file's raw bytes.
hmac_file() {
	openssl dgst -sha256 -hmac "$1" -r "$2" | cut -d' ' -f1
}

# canonical_file OUT METHOD HOST PATH QUERY CTYPE KEYID VERSION TS NONCE BODY
# writes the 11 canonical lines joined by LF, no trailing newline.
canonical_file() {
	out=$1
	host=$(printf '%s' "$3" | tr '[:upper:]' '[:lower:]')
	bodyhash=$(sha256_file "${11}")
	printf 'APIHMAC1\n%s\n%s\n%s\n%s\n%s\n%s\n%s\n%s\n%s\n%s' "$2" \
	    "$host" "$4" "$5" "$6" "$7" "$8" "$9" "${10}" "$bodyhash" >"$out"
}

# ---------------------------------------------------------------- vectors

# Print "name<TAB>value" per field and "END" after each vector.  Values stay
# JSON-escaped; only "canonical" carries escapes (\n), compared escaped.
vector_fields() {
	awk '
	/^ *"(description|secret|method|host|target|content_type|key_id|key_version|timestamp|nonce|body_base64|canonical|signature)": / {
		line = $0
		sub(/^ *"/, "", line)
		name = line; sub(/".*/, "", name)
		val = line; sub(/^[^"]*": /, "", val); sub(/,$/, "", val)
		if (val == "null") val = ""
		else { sub(/^"/, "", val); sub(/"$/, "", val) }
		printf "%s\t%s\n", name, val
		if (name == "signature") print "END"
	}' "$1"
}

check_vectors() {
	[ -r "$1" ] || die "cannot read $1"
	good=0
	total=0
	vector_fields "$1" >"$tmp/fields"
	tab=$(printf '\t')
	description='' secret='' method='' host='' target='' content_type=''
	key_id='' key_version='' timestamp='' nonce='' body_base64=''
	canonical='' signature=''
	while IFS= read -r line; do
		if [ "$line" != END ]; then
			name=${line%%"$tab"*}
			val=${line#*"$tab"}
			case $name in
			description) description=$val ;;
			secret) secret=$val ;;
			method) method=$val ;;
			host) host=$val ;;
			target) target=$val ;;
			content_type) content_type=$val ;;
			key_id) key_id=$val ;;
			key_version) key_version=$val ;;
			timestamp) timestamp=$val ;;
			nonce) nonce=$val ;;
			body_base64) body_base64=$val ;;
			canonical) canonical=$val ;;
			signature) signature=$val ;;
			esac
			continue
		fi
		total=$((total + 1))
		printf '%s' "$body_base64" | base64 -d >"$tmp/body"
		path=${target%%\?*}
		query=''
		case $target in *\?*) query=${target#*\?} ;; esac
		canonical_file "$tmp/canon" "$method" "$host" "$path" "$query" \
		    "$content_type" "$key_id" "$key_version" "$timestamp" \
		    "$nonce" "$tmp/body"
		# The JSON form of our canonical string: LF written as \n.
		mine=$(awk 'NR > 1 { printf "\\n" } { printf "%s", $0 }' \
		    "$tmp/canon")
		sig=$(hmac_file "$secret" "$tmp/canon")
		if [ "$mine" = "$canonical" ] && [ "$sig" = "$signature" ]; then
			good=$((good + 1))
			printf 'ok    %s\n' "$description"
		else
			printf 'FAIL  %s\n' "$description"
		fi
	done <"$tmp/fields"
	printf 'vectors: %d/%d match\n' "$good" "$total"
	[ "$total" -gt 0 ] && [ "$good" -eq "$total" ]
}

# ---------------------------------------------------------------- requests

# signed_request METHOD TARGET BODYFILE|"" : sign, send, print; 0 on 2xx.
signed_request() {
	method=$1
	target=$2
	bodyfile=$3
	ctype=''
	if [ -n "$bodyfile" ]; then
		ctype=application/json
	else
		bodyfile=$tmp/empty
		: >"$bodyfile"
	fi
	path=${target%%\?*}
	query=''
	case $target in *\?*) query=${target#*\?} ;; esac
	ts=$(date +%s)
	nonce=$(openssl rand -base64 18 | tr '+/' '-_')
	canonical_file "$tmp/canon" "$method" "$authority" "$path" "$query" \
	    "$ctype" "$key_id" "$version" "$ts" "$nonce" "$bodyfile"
	sig=$(hmac_file "$secret" "$tmp/canon")
	# Each header is one argument: nothing here is split or globbed.
	set -- -sS --max-time 30 -o "$tmp/out" -w '%{http_code}' \
	    -X "$method" -H "Host: $authority" -H "X-Key-Id: $key_id" \
	    -H "X-Key-Version: $version" -H "X-Timestamp: $ts" \
	    -H "X-Nonce: $nonce" -H "X-API-Signature: $sig"
	if [ -n "$ctype" ]; then
		set -- "$@" -H "Content-Type: $ctype" --data-binary "@$bodyfile"
	fi
	if [ -n "$cacert" ]; then
		set -- "$@" --cacert "$cacert"
	fi
	status=$(curl "$@" "$base$target") || die "$method $target failed"
	printf '%s %s -> HTTP %s\n' "$method" "$target" "$status"
	cat "$tmp/out"
	printf '\n'
	[ "$status" -ge 200 ] && [ "$status" -le 299 ]
}

credential=${APISERVER_CREDENTIAL:-}
cacert=''
vectors=''
base=''
while [ $# -gt 0 ]; do
	case $1 in
	--credential) [ $# -ge 2 ] || die "$1 needs a value"
		credential=$2; shift ;;
	--cacert) [ $# -ge 2 ] || die "$1 needs a value"
		cacert=$2; shift ;;
	--vectors) [ $# -ge 2 ] || die "$1 needs a value"
		vectors=$2; shift ;;
	-*) die "unknown flag $1" ;;
	*) base=$1 ;;
	esac
	shift
done

if [ -n "$vectors" ]; then
	check_vectors "$vectors"
	exit $?
fi
if [ -z "$base" ] || [ -z "$credential" ]; then
	die "need BASE_URL and --credential (or APISERVER_CREDENTIAL)"
fi
[ -r "$credential" ] || die "cannot read $credential"
key_id=$(sed -n 's/^key_id=//p' "$credential")
version=$(sed -n 's/^version=//p' "$credential")
secret=$(sed -n 's/^secret=//p' "$credential")
if [ -z "$key_id" ] || [ -z "$version" ] || [ -z "$secret" ]; then
	die "$credential is not a credential file"
fi

base=${base%/}
rest=${base#*://}
authority=${rest%%/*}
case $base in
https://*) ;;
http://127.0.0.1:* | http://localhost:* | http://127.0.0.1 | http://localhost) ;;
*) die "refusing $base: use https:// (plain http only to loopback)" ;;
esac

printf '{"temp":21.5,"unit":"C"}' >"$tmp/body.json"
rc=0
signed_request GET '/api/whoami?x=1&y=a+b' '' || rc=1
signed_request POST /api/data "$tmp/body.json" || rc=1
exit "$rc"
