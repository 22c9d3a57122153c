#!/usr/bin/env bash
# Make sure a Java runtime (8 or newer) is here, for ScienceWorld: its wheel ships a jar that runs in
# a JVM. If `java` is missing and we run as root on Debian, install Debian's openjdk-17-jre-headless.
# With CI=true a missing Java is an error; elsewhere ScienceWorld's own tests are skipped with a reason
# (the conformance suite's scienceworld/* ids then fail: they need a JVM).
set -u

have_java() {
  command -v java >/dev/null 2>&1 && java -version >/dev/null 2>&1
}

if have_java; then
  echo "java: $(java -version 2>&1 | head -n 1)"
  exit 0
fi

if [ "$(id -u)" = 0 ] && [ -f /etc/debian_version ]; then
  echo "java: installing openjdk-17-jre-headless from Debian"
  apt-get update -qq >/dev/null
  # The JRE's post-install script expects the man page folder, which slim images lack.
  mkdir -p /usr/share/man/man1
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    openjdk-17-jre-headless >/dev/null
  if have_java; then
    echo "java: installed $(java -version 2>&1 | head -n 1)"
    exit 0
  fi
fi

if [ "${CI:-}" = "true" ]; then
  echo "java: ERROR no Java runtime and none could be installed; CI requires it for ScienceWorld." >&2
  exit 1
fi
echo "java: no Java runtime (run as root on Debian to install it): tests/envs/external/test_scienceworld.py" \
  "is skipped and the conformance tests of the scienceworld/* ids fail."
exit 0
