#!/usr/bin/env bash
# Generate TPC-H data as Parquet: bench/data/sf{SF}/{table}.parquet for the 8 tables.
#
#   bench/gen_tpch.sh SF [--force]
#
# Uses tpchgen-cli (the Rust TPC-H generator, output identical to dbgen). If it is not on
# PATH it is installed with `pip install tpchgen-cli` (a package that ships the binary),
# falling back to `cargo install tpchgen-cli --locked`.
# Money columns come out as DECIMAL(15,2), dates as DATE; files are Snappy-compressed with
# tpchgen's default row groups (~7 MiB uncompressed each).
set -euo pipefail

if [[ $# -lt 1 || "$1" == -h || "$1" == --help ]]; then
    echo "usage: $0 SF [--force]   (e.g. $0 1  → bench/data/sf1/*.parquet)" >&2
    exit 2
fi
SF_RAW="$1"
FORCE="${2:-}"
# Normalise the scale factor the way bench/tpch.py names directories: 1.0 → 1, 0.10 → 0.1.
SF=$(LC_ALL=C printf '%g' "$SF_RAW")

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="$BENCH_DIR/data/sf$SF"
TABLES=(lineitem orders customer part partsupp supplier nation region)

complete=1
for t in "${TABLES[@]}"; do [[ -s "$OUT/$t.parquet" ]] || complete=0; done
if [[ $complete == 1 && "$FORCE" != --force ]]; then
    echo "gen_tpch: $OUT already complete (use --force to regenerate)" >&2
    exit 0
fi

find_gen() {
    if command -v tpchgen-cli >/dev/null 2>&1; then command -v tpchgen-cli; return 0; fi
    if [[ -x "$HOME/.cargo/bin/tpchgen-cli" ]]; then echo "$HOME/.cargo/bin/tpchgen-cli"; return 0; fi
    return 1
}

GEN=$(find_gen || true)
if [[ -z "$GEN" ]]; then
    echo "gen_tpch: tpchgen-cli not found; trying: python3 -m pip install tpchgen-cli" >&2
    if python3 -m pip install --quiet tpchgen-cli >&2; then hash -r; GEN=$(find_gen || true); fi
fi
if [[ -z "$GEN" ]]; then
    echo "gen_tpch: pip install failed; trying: cargo install tpchgen-cli --locked" >&2
    if cargo install tpchgen-cli --locked >&2; then GEN=$(find_gen || true); fi
fi
if [[ -z "$GEN" ]]; then
    echo "gen_tpch: could not install tpchgen-cli (pip install tpchgen-cli, or cargo install tpchgen-cli --locked)" >&2
    exit 1
fi

# Newer tpchgen-cli takes the format as a subcommand (`tpchgen-cli parquet ...`), older ones
# as `--format=parquet`.
if "$GEN" --help 2>/dev/null | grep -qE '^\s+parquet\b'; then
    FMT_ARGS=(parquet)
else
    FMT_ARGS=(--format=parquet)
fi

THREADS="${GEN_THREADS:-$(nproc 2>/dev/null || echo 2)}"
TMP="$BENCH_DIR/data/.sf$SF.tmp.$$"
rm -rf "$TMP"; mkdir -p "$TMP"
trap 'rm -rf "$TMP"' EXIT
echo "gen_tpch: $("$GEN" --version) → $OUT (SF $SF, $THREADS threads)" >&2
start=$(date +%s)
"$GEN" "${FMT_ARGS[@]}" -s "$SF" --output-dir "$TMP" -n "$THREADS" --no-progress >&2
for t in "${TABLES[@]}"; do
    [[ -s "$TMP/$t.parquet" ]] || { echo "gen_tpch: $t.parquet was not written" >&2; exit 1; }
done
mkdir -p "$OUT"
for t in "${TABLES[@]}"; do mv -f "$TMP/$t.parquet" "$OUT/$t.parquet"; done
echo "gen_tpch: done in $(( $(date +%s) - start ))s" >&2
du -sh "$OUT" >&2
