#!/bin/sh
# Runs the given command (node and the service's flags) with jemalloc as its malloc when the machine has the
# library (Debian: libjemalloc2), glibc's malloc otherwise (docs/adr/0051). `exec`: the command keeps this
# process's id, so signals and kill -9 reach node itself.
# CHANCERY_ALLOCATOR: jemalloc (the default) or system (glibc's malloc); an LD_PRELOAD already set is left as it is.
case "${CHANCERY_ALLOCATOR:-jemalloc}" in
  jemalloc | system) ;;
  *)
    echo "CHANCERY_ALLOCATOR must be jemalloc or system, not '${CHANCERY_ALLOCATOR}'" >&2
    exit 2
    ;;
esac
if [ -z "${LD_PRELOAD:-}" ] && [ "${CHANCERY_ALLOCATOR:-jemalloc}" = jemalloc ]; then
  # This machine's own architecture only (Debian's directory for x86_64 and aarch64 is `uname -m`-linux-gnu;
  # other architectures fall back to glibc's malloc): another one's library would be refused by ld.so, noisily.
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
