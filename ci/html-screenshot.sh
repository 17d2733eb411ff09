#!/usr/bin/env bash
# Renders a real HTML report (the survey examples, passing and failing, against the simulator)
# and takes a screenshot of it in headless Chromium: target/artifacts/report.png; then one with
# the CSS-only "Show failures only" checkbox ticked (target/artifacts/report-failures-only.png),
# which must differ from the first (the passes are hidden).
#
# Not part of `cargo test`, which must pass on a machine with only Rust. Installs Chromium
# from Debian when it is missing (as root, or through sudo). Fails if the page or the
# screenshot is missing, or the screenshot is too small to show anything.
set -euo pipefail
cd "$(dirname "$0")/.."

out=target/artifacts
report_dir="$out/html-report"
mkdir -p "$out"

find_chromium() {
    for candidate in chromium chromium-browser google-chrome google-chrome-stable; do
        if command -v "$candidate" >/dev/null 2>&1; then
            command -v "$candidate"
            return 0
        fi
    done
    return 1
}

if ! browser="$(find_chromium)"; then
    echo "html-screenshot: installing Chromium"
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium >/dev/null
    elif command -v sudo >/dev/null 2>&1; then
        sudo apt-get update -qq && sudo apt-get install -y -qq --no-install-recommends chromium >/dev/null
    else
        echo "html-screenshot: Chromium is missing and cannot be installed (not root, no sudo)" >&2
        exit 1
    fi
    browser="$(find_chromium)" || { echo "html-screenshot: Chromium did not install" >&2; exit 1; }
fi

cargo build -p web-messaging-tester --locked --quiet
bin=target/debug/web-messaging-tester

rm -rf "$report_dir" "$out/report.png"
# fail.yml fails on purpose: exit 1 is the expected outcome.
set +e
NO_COLOR=1 "$bin" scripted examples/survey/pass.yml examples/survey/fail.yml \
    --simulate examples/survey/bot.yml --timeout 1 --parallel 3 \
    --report-html "$report_dir" >"$out/report.txt" 2>&1
code=$?
set -e
if [ "$code" -ne 1 ]; then
    echo "html-screenshot: expected exit code 1 from the survey run, got $code" >&2
    cat "$out/report.txt" >&2
    exit 1
fi
if [ ! -s "$report_dir/index.html" ]; then
    echo "html-screenshot: $report_dir/index.html was not written" >&2
    exit 1
fi

# screenshot <page.html> <out.png>: a PNG of the page that is not empty.
screenshot() {
    rm -f "$2"
    timeout 180 "$browser" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
        --hide-scrollbars --no-first-run --window-size=1280,2600 \
        --screenshot="$2" "file://$(pwd)/$1" >"$out/chromium.log" 2>&1 || {
        echo "html-screenshot: Chromium failed" >&2
        cat "$out/chromium.log" >&2
        exit 1
    }
    if [ ! -f "$2" ]; then
        echo "html-screenshot: no screenshot was written" >&2
        cat "$out/chromium.log" >&2
        exit 1
    fi
    size=$(wc -c <"$2")
    magic=$(head -c 8 "$2" | od -An -tx1 | tr -d ' \n')
    if [ "$magic" != "89504e470d0a1a0a" ]; then
        echo "html-screenshot: $2 is not a PNG" >&2
        exit 1
    fi
    if [ "$size" -lt 20000 ]; then
        echo "html-screenshot: $2 is only $size bytes: the page looks empty" >&2
        exit 1
    fi
    echo "html-screenshot: $2 ($size bytes) from $1"
}

screenshot "$report_dir/index.html" "$out/report.png"

# The same page with "Show failures only" ticked: CSS alone must hide the passing scenarios.
failures_only="$report_dir/failures-only.html"
sed 's/id="failures-only" class="toggle"/id="failures-only" class="toggle" checked/' \
    "$report_dir/index.html" >"$failures_only"
if cmp -s "$report_dir/index.html" "$failures_only"; then
    echo "html-screenshot: the page has no failures-only checkbox" >&2
    exit 1
fi
screenshot "$failures_only" "$out/report-failures-only.png"
if cmp -s "$out/report.png" "$out/report-failures-only.png"; then
    echo "html-screenshot: ticking \"Show failures only\" changed nothing on the page" >&2
    exit 1
fi
