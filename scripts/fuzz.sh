#!/usr/bin/env bash
# Runs every fuzz target in fuzz/ briefly, starting from its kept corpus,
# and fails if any of them crashes (a panic, a broken property, a leak or
# running out of memory). Installs cargo-fuzz when it is missing. New
# inputs found on the way go to a scratch folder, so the kept corpora only
# change when someone minimises them on purpose (see docs/fuzzing.md).
#
#   scripts/fuzz.sh                 every target, FUZZ_SECONDS (15) each
#   scripts/fuzz.sh cursor token    only these
#   FUZZ_SECONDS=600 scripts/fuzz.sh config
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

seconds=${FUZZ_SECONDS:-15}
# cargo-fuzz passes nightly-only flags (-Zsanitizer, sancov passes); this
# lets the stable toolchain accept them.
export RUSTC_BOOTSTRAP=1
# cargo fuzz builds into fuzz/target; a target dir meant for the main
# workspace must not leak in.
unset CARGO_TARGET_DIR

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "installing cargo-fuzz" >&2
  cargo install cargo-fuzz --locked
fi

if [ "$#" -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(cargo fuzz list)
fi

# Release code with overflow checks and debug assertions on (-a); no
# sanitizer (-s none): every natter crate forbids unsafe code, and
# AddressSanitizer made the targets about seven times slower.
flags=(-a -s none)
cargo fuzz build "${flags[@]}"

failed=()
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
for t in "${targets[@]}"; do
  echo "==> $t (${seconds}s)"
  mkdir -p "$scratch/$t" "corpus/$t"
  # The first folder receives new inputs; the kept corpus is only read.
  if ! cargo fuzz run "${flags[@]}" "$t" "$scratch/$t" "corpus/$t" -- \
    -max_total_time="$seconds" -print_final_stats=1 2>"$scratch/$t.log"; then
    tail -n 40 "$scratch/$t.log"
    failed+=("$t")
  else
    grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::average_exec_per_sec)' \
      "$scratch/$t.log" || true
  fi
done

if [ "${#failed[@]}" -gt 0 ]; then
  echo "fuzz targets that crashed: ${failed[*]} (inputs in fuzz/artifacts/)" >&2
  exit 1
fi
echo "fuzz: ${#targets[@]} targets ran ${seconds}s each without a crash"
