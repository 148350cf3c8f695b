#!/bin/sh
# Refreshes the vendored htmx from the npm registry. Bump VERSION and INTEGRITY
# together (npm view htmx.org@X dist.integrity), run, and review the diff.
set -eu

PACKAGE=htmx.org
VERSION=2.0.11
# Pinned so a tampered mirror or a man in the middle cannot slip in other bytes.
INTEGRITY=sha512-Thx/WtpeOQqSrqBCw/A1cwGJGg4UrVa3+sW0GmrM3p4gJgO89ecH4qtbnyzDDWFvBTqjnIMCgELTNt636dtamA==
TARBALL_URL="https://registry.npmjs.org/$PACKAGE/-/$PACKAGE-$VERSION.tgz"

here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

sha256() {
    if command -v sha256sum >/dev/null 2>&1; then sha256sum "$1" | cut -d' ' -f1
    else shasum -a 256 "$1" | cut -d' ' -f1
    fi
}

if command -v npm >/dev/null 2>&1; then
    (cd "$tmp" && npm pack --silent "$PACKAGE@$VERSION" >/dev/null)
else
    curl -fsSL -o "$tmp/$PACKAGE-$VERSION.tgz" "$TARBALL_URL"
fi
tgz="$tmp/$PACKAGE-$VERSION.tgz"

actual="sha512-$(openssl dgst -sha512 -binary "$tgz" | base64 | tr -d '\n')"
if [ "$actual" != "$INTEGRITY" ]; then
    echo "refresh.sh: $PACKAGE@$VERSION tarball integrity mismatch" >&2
    echo "  expected $INTEGRITY" >&2
    echo "  got      $actual" >&2
    exit 1
fi

tar -xzf "$tgz" -C "$tmp" package/dist/htmx.min.js package/LICENSE
cp "$tmp/package/dist/htmx.min.js" "$here/htmx.min.js"
cp "$tmp/package/LICENSE" "$here/htmx.LICENSE"

# README is generated so its checksums can never drift from the files.
{
    echo "# Vendored third-party files"
    echo
    echo "Copied untouched from the npm registry by \`refresh.sh\`; do not edit them by hand."
    echo
    echo "| file | package | version | licence | source | sha256 |"
    echo "|---|---|---|---|---|---|"
    for pair in "htmx.min.js package/dist/htmx.min.js" "htmx.LICENSE package/LICENSE"; do
        file=${pair%% *}
        member=${pair#* }
        echo "| \`$file\` | $PACKAGE | $VERSION | 0BSD | $TARBALL_URL (\`$member\`) | \`$(sha256 "$here/$file")\` |"
    done
} > "$here/README.md"

for file in htmx.min.js htmx.LICENSE; do
    echo "$(sha256 "$here/$file")  $file"
done
