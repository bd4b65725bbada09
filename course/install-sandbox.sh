#!/bin/sh
# Install what grading needs to isolate student code: bubblewrap (bwrap), and util-linux's prlimit and setpriv.
# Debian/Ubuntu package names; needs root (or password-less sudo).  Does nothing when all three are present.
# Used by `make grading-setup` (and so by `make test` and CI).  Never fails: without the tools, `make autograde`
# refuses to grade and the sandbox tests are skipped, both saying why.
set -u
missing=""
for tool in bwrap prlimit setpriv; do
    command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/bin/$tool" ] || missing="$missing $tool"
done
[ -z "$missing" ] && exit 0
echo "grading sandbox: missing$missing; installing bubblewrap and util-linux"
if [ "$(id -u)" = 0 ]; then sudo=""; elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo -n"
else
    echo "grading sandbox: cannot install (not root, no password-less sudo): run 'sudo apt-get install bubblewrap'"
    exit 0
fi
if command -v apt-get >/dev/null 2>&1; then
    $sudo apt-get install -y -q bubblewrap util-linux >/dev/null 2>&1 \
        || { $sudo apt-get update -q >/dev/null 2>&1 && $sudo apt-get install -y -q bubblewrap util-linux >/dev/null 2>&1; } \
        || echo "grading sandbox: apt-get could not install bubblewrap"
else
    echo "grading sandbox: no apt-get here; install bubblewrap with this system's package manager"
fi
exit 0
