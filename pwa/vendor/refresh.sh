#!/bin/sh
# Refreshes the vendored files from the npm registry. Bump a package's version and integrity together
# (npm view PACKAGE@X dist.integrity), run, and review the diff.
set -eu

# package version integrity licence member:file ...
PACKAGES="
htmx.org 2.0.11 sha512-Thx/WtpeOQqSrqBCw/A1cwGJGg4UrVa3+sW0GmrM3p4gJgO89ecH4qtbnyzDDWFvBTqjnIMCgELTNt636dtamA== 0BSD package/dist/htmx.min.js:htmx.min.js package/LICENSE:htmx.LICENSE
minisearch 7.2.0 sha512-dqT2XBYUOZOiC5t2HRnwADjhNS2cecp9u+TJRiJ1Qp/f5qjkeT5APcGPjHw+bz89Ms8Jp+cG4AlE+QZ/QnDglg== MIT package/dist/umd/index.js:minisearch.js package/LICENSE.txt:minisearch.LICENSE
"

here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

sha256() {
    if command -v sha256sum >/dev/null 2>&1; then sha256sum "$1" | cut -d' ' -f1
    else shasum -a 256 "$1" | cut -d' ' -f1
    fi
}

echo "$PACKAGES" | while read -r package version integrity licence files; do
    [ -n "$package" ] || continue
    tarball_url="https://registry.npmjs.org/$package/-/$package-$version.tgz"
    work="$tmp/$package"
    mkdir -p "$work"
    if command -v npm >/dev/null 2>&1; then
        (cd "$work" && npm pack --silent "$package@$version" >/dev/null)
    else
        curl -fsSL -o "$work/$package-$version.tgz" "$tarball_url"
    fi
    tgz="$work/$package-$version.tgz"
    # Pinned so a tampered mirror or a man in the middle cannot slip in other bytes.
    actual="sha512-$(openssl dgst -sha512 -binary "$tgz" | base64 | tr -d '\n')"
    if [ "$actual" != "$integrity" ]; then
        echo "refresh.sh: $package@$version tarball integrity mismatch" >&2
        echo "  expected $integrity" >&2
        echo "  got      $actual" >&2
        exit 1
    fi
    for pair in $files; do
        member=${pair%%:*}
        file=${pair#*:}
        tar -xzf "$tgz" -C "$work" "$member"
        cp "$work/$member" "$here/$file"
        echo "| \`$file\` | $package | $version | $licence | $tarball_url (\`$member\`) | \`$(sha256 "$here/$file")\` |" \
            >> "$tmp/rows"
    done
done

# README is generated so its checksums can never drift from the files.
{
    echo "# Vendored third-party files"
    echo
    echo "Copied untouched from the npm registry by \`refresh.sh\`; do not edit them by hand."
    echo
    echo "| file | package | version | licence | source | sha256 |"
    echo "|---|---|---|---|---|---|"
    cat "$tmp/rows"
} > "$here/README.md"
cat "$here/README.md"
