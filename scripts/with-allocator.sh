#!/bin/sh
# Runs the given command (node and the service's flags) with jemalloc as its malloc when the machine has the
# library (Debian: libjemalloc2), glibc's malloc otherwise (docs/adr/0051). `exec`: the command keeps this
# process's id, so signals and kill -9 reach node itself.
# CHANCERY_ALLOCATOR=system keeps glibc's malloc; an LD_PRELOAD already set is left as it is.
if [ -z "${LD_PRELOAD:-}" ] && [ "${CHANCERY_ALLOCATOR:-jemalloc}" = jemalloc ]; then
  # This machine's own architecture only: another one's library (multiarch) would be refused by ld.so, noisily.
  for library in "/usr/lib/$(uname -m)-linux-gnu/libjemalloc.so.2" /usr/lib64/libjemalloc.so.2 /usr/lib/libjemalloc.so.2 \
    /usr/local/lib/libjemalloc.so.2; do
    if [ -r "$library" ]; then
      LD_PRELOAD="$library"
      export LD_PRELOAD
      break
    fi
  done
fi
exec "$@"
