#!/bin/sh
# The project's standing source checks (fwupd's check-source idea):
#   - every C file is formatted with the committed .clang-format;
#   - no g_error() in code that runs in the daemon or agents, no goto out,
#     no C++ comments.
# Prints one line per problem; exit 1 when there is any.
set -u
cd "${EFP_SOURCE_ROOT:?}"
status=0
files=$(find daemon decoders policies agents tests -name '*.[ch]' -not -path '*/corpus/*' | sort)
for f in $files; do
  if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
    echo "$f: not formatted (run: clang-format -i $f)"
    status=1
  fi
done
for f in $(echo "$files" | grep -E '^(daemon|decoders|policies|agents)/' | grep -v '/tests/'); do
  if grep -nE '\bg_error \(' "$f" >/dev/null; then
    echo "$f: g_error() aborts the daemon; return a GError instead"
    status=1
  fi
  if grep -nE '\bgoto out\b' "$f" >/dev/null; then
    echo "$f: goto out; use g_autoptr and early returns"
    status=1
  fi
  if grep -nE '^\s*//' "$f" >/dev/null; then
    echo "$f: C++ comment"
    status=1
  fi
done
[ $status = 0 ] && echo "source checks: $(echo "$files" | wc -l) files fine"
exit $status
