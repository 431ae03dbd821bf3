#!/usr/bin/env bash
# Builds the fuzz targets with libFuzzer's coverage instrumentation on the stable toolchain
# and runs each for a while. cargo-fuzz does the same with nightly-only sanitizers; the
# coverage passes below are stable flags, which is all libFuzzer needs to steer.
#
#   fuzz/run.sh                 # every target, 30 s each (what CI runs)
#   fuzz/run.sh 600 scim_patch  # one target, 10 minutes
#
# Crashes are written to fuzz/artifacts/<target>/; turn each into a regression test.
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-30}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then targets=(scim_filter scim_patch_path scim_patch saml_response); fi

# The fuzz crate is its own workspace: start from the main lock file so it builds the
# same dependency versions as the daemon, adding only libFuzzer's.
cp ../Cargo.lock Cargo.lock
triple=$(rustc -vV | sed -n 's/^host: //p')
target_dir=${FUZZ_TARGET_DIR:-target}
# --target makes cargo apply RUSTFLAGS to the fuzzed crates only, not to build scripts.
RUSTFLAGS="--cfg fuzzing -Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares -Cdebug-assertions -Coverflow-checks" \
  cargo build --release --target "$triple" --target-dir "$target_dir" --bins

for t in "${targets[@]}"; do
  mkdir -p "corpus/$t" "artifacts/$t"
  # SAML responses are a few KB; the other inputs are short.
  max_len=4096
  if [ "$t" = saml_response ]; then max_len=32768; fi
  echo "== fuzzing $t for ${seconds}s"
  "$target_dir/$triple/release/$t" "corpus/$t" "seeds/$t" \
    -artifact_prefix="artifacts/$t/" -max_total_time="$seconds" -max_len="$max_len" \
    -print_final_stats=1 2>&1 | tail -n 12
done
