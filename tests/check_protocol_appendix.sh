#!/bin/sh
# check_protocol_appendix.sh — docs/protocol.md's Appendix A must be
# proto/shuangsui.proto, byte for byte, so that the protocol's reference text
# never drifts from the schema the code is generated from.
#
# Usage: check_protocol_appendix.sh PROTOCOL_MD PROTO_FILE
# Takes the first fenced code block after the "## Appendix A" heading (its
# fence lines excluded) and diffs it with PROTO_FILE.  Exit 0 when they are
# equal; otherwise prints the diff and exits 1 (2 on a usage or file error).
set -u

if [ "$#" -ne 2 ]; then
	echo "usage: $0 PROTOCOL_MD PROTO_FILE" >&2
	exit 2
fi
doc=$1
proto=$2
for f in "$doc" "$proto"; do
	if [ ! -r "$f" ]; then
		echo "$0: cannot read $f" >&2
		exit 2
	fi
done

tmp=$(mktemp "${TMPDIR:-/tmp}/appendix.XXXXXX") || exit 2
trap 'rm -f "$tmp"' EXIT HUP INT TERM

# state 0: before the heading; 1: after it, before the fence; 2: in the block.
awk '
	state == 0 && /^## Appendix A/ { state = 1; next }
	state == 1 && /^## / { exit 3 }
	state == 1 && /^```/ { state = 2; next }
	state == 2 && /^```[ \t]*$/ { found = 1; exit 0 }
	state == 2 { print }
	END { if (!found) exit 3 }
' "$doc" >"$tmp"
if [ $? -ne 0 ]; then
	echo "$0: no complete code block after \"## Appendix A\" in $doc" >&2
	exit 1
fi

if diff -u "$proto" "$tmp"; then
	exit 0
fi
echo "$0: Appendix A of $doc differs from $proto (lines marked + are the appendix's)" >&2
exit 1
