#!/bin/bash
# Error paths of the file data sources (SPEC §6.1, docs/DATA.md).  Errors abort the
# process (pf_die), so each case runs the proxflow binary (PROXFLOW_BIN, set by CTest)
# as a singleton MPI process:  proxflow train CONFIG --set data.source=BAD --out FRESH
# and checks a non-zero exit status and a message on stderr that names the file and
# says what is wrong.  The HDF5 cases need python3 with h5py (skipped with a note
# otherwise).  Ends with one successful 1-iteration run on a small IDX file.
. "$(dirname "$0")/lib.sh"
n=0

cat > "$T/run.ini" <<EOF
[data]
source = 8gaussians
[train]
iterations = 1
batch = 16
[output]
dir = $T/out
diag_batch = 16
EOF

# expect_error NAME SOURCE PATTERN... [-- extra --set options]: exit != 0, stderr has
# every PATTERN (fixed strings).
expect_error() {
    local name=$1 src=$2
    shift 2
    local pats=() sets=()
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do pats+=("$1"); shift; done
    [ $# -gt 0 ] && shift
    for s in "$@"; do sets+=(--set "$s"); done
    n=$((n + 1))
    "$BIN" train "$T/run.ini" --set "data.source=$src" "${sets[@]}" --out "$T/out$n" \
        > "$T/stdout$n" 2> "$T/stderr$n"
    local rc=$?
    if [ $rc -eq 0 ]; then
        bad "$name: exit status 0 (expected an error)"; return
    fi
    for p in "${pats[@]}"; do
        if ! grep -qF -- "$p" "$T/stderr$n"; then
            bad "$name: stderr lacks '$p':"; sed 's/^/    /' "$T/stderr$n"
            return
        fi
    done
    ok "$name (exit $rc): $(grep -m1 'error' "$T/stderr$n")"
}

# A valid IDX image file: 20 images of 4 x 4 (magic 0x00000803, big-endian dims).
printf '\000\000\010\003\000\000\000\024\000\000\000\004\000\000\000\004' > "$T/good-idx3-ubyte"
head -c 320 /dev/urandom >> "$T/good-idx3-ubyte"
gzip -c "$T/good-idx3-ubyte" > "$T/good-idx3-ubyte.gz"

# wrong magic number
printf 'this is not an IDX file' > "$T/text-idx3-ubyte"
expect_error "wrong magic" "$T/text-idx3-ubyte" "$T/text-idx3-ubyte" "magic number" "0x00000803"
printf '\000\000\010\004\000\000\000\001' > "$T/fourd-idx3-ubyte"
expect_error "4-D IDX magic" "$T/fourd-idx3-ubyte" "$T/fourd-idx3-ubyte" "0x00000804"
# truncated gzip (the deflate stream is cut)
sz=$(stat -c %s "$T/good-idx3-ubyte.gz")
head -c $((sz - 40)) "$T/good-idx3-ubyte.gz" > "$T/cut-idx3-ubyte.gz"
expect_error "truncated gz" "$T/cut-idx3-ubyte.gz" "$T/cut-idx3-ubyte.gz" "truncated"
# gzip cut inside its trailer only: all data present, the CRC/length missing
head -c $((sz - 4)) "$T/good-idx3-ubyte.gz" > "$T/cuttrailer-idx3-ubyte.gz"
expect_error "gz without trailer" "$T/cuttrailer-idx3-ubyte.gz" "$T/cuttrailer-idx3-ubyte.gz" "truncated"
# truncated raw file, and raw / gzip files with trailing bytes
head -c 200 "$T/good-idx3-ubyte" > "$T/cut-idx3-ubyte"
expect_error "truncated raw" "$T/cut-idx3-ubyte" "$T/cut-idx3-ubyte" "truncated" "336"
head -c 10 "$T/good-idx3-ubyte" > "$T/cuthdr-idx3-ubyte"
expect_error "truncated header" "$T/cuthdr-idx3-ubyte" "$T/cuthdr-idx3-ubyte" "truncated"
{ cat "$T/good-idx3-ubyte"; printf 'xyz'; } > "$T/long-idx3-ubyte"
expect_error "trailing data raw" "$T/long-idx3-ubyte" "$T/long-idx3-ubyte" "trailing" "336" "339"
{ cat "$T/good-idx3-ubyte"; printf 'xyz'; } | gzip -c > "$T/long-idx3-ubyte.gz"
expect_error "trailing data gz" "$T/long-idx3-ubyte.gz" "$T/long-idx3-ubyte.gz" "trailing" "339"
# missing files (with and without a recognised extension)
expect_error "missing file" "$T/nope-idx3-ubyte.gz" "$T/nope-idx3-ubyte.gz" "No such file"
expect_error "missing file (no ext)" "$T/nowhere/mnist.bin" "$T/nowhere/mnist.bin" "No such file"
expect_error "missing h5 file" "$T/none.h5:/x" "$T/none.h5" "No such file"
# batch larger than the data, n_train larger than the file
expect_error "batch > rows" "$T/good-idx3-ubyte" "batch 32 exceeds the 20 rows" \
    "$T/good-idx3-ubyte" -- train.batch=32 output.diag_batch=32
expect_error "n_train > rows" "$T/good-idx3-ubyte.gz" "n_train = 50 exceeds the 20 rows" \
    "$T/good-idx3-ubyte.gz" -- data.n_train=50
# [data] embedding (issue 19): synthetic sets only; a 2-D set needs dim >= 2
expect_error "embedding of a file source" "$T/good-idx3-ubyte" "[data] embedding = pad applies to synthetic sets only" \
    "$T/good-idx3-ubyte" -- data.embedding=pad
expect_error "2-D set padded into R^1" "pinwheel" "data source 'pinwheel' lives in R^2: dim must be >= 2 (got 1)" \
    -- data.embedding=pad data.dim=1

# HDF5 cases
PY=""
for p in /usr/bin/python3 python3; do
    if command -v "$p" > /dev/null && "$p" -c 'import h5py, numpy' 2> /dev/null; then PY=$p; break; fi
done
if [ -n "$PY" ]; then
    "$PY" - "$T/bad.h5" <<'EOF'
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "w") as f:
    x = np.arange(80, dtype=np.float64).reshape(20, 4)
    x[7, 2] = np.nan
    x[11, 0] = np.inf
    f["x"] = x
    y = np.ones((20, 4), dtype=np.float32)
    y[13, 3] = -np.inf
    f["g/y"] = y
    f["empty"] = np.zeros((0, 4))
    f["zerod"] = np.zeros((20, 0))
    f["text"] = np.array([b"a", b"b"])
    f.create_group("grp")
EOF
    expect_error "NaN in HDF5" "$T/bad.h5:/x" "$T/bad.h5" "'/x'" "NaN or Inf" "row 7"
    expect_error "Inf in HDF5" "$T/bad.h5:/g/y" "$T/bad.h5" "'/g/y'" "row 13"
    expect_error "missing dataset" "$T/bad.h5:/nope" "$T/bad.h5" "no dataset '/nope'"
    expect_error "group, not dataset" "$T/bad.h5:/grp" "$T/bad.h5" "no dataset '/grp'"
    expect_error "empty dataset" "$T/bad.h5:/empty" "$T/bad.h5" "'/empty'" "empty"
    expect_error "rows of dimension 0" "$T/bad.h5:/zerod" "$T/bad.h5" "'/zerod'" "dimension 0"
    expect_error "non-numeric dataset" "$T/bad.h5:/text" "$T/bad.h5" "'/text'" "not numeric"
    expect_error "no dataset given" "$T/bad.h5:" "$T/bad.h5" "no dataset after"
    expect_error "HDF5 as IDX" "$T/bad.h5" "$T/bad.h5" "HDF5 file"
    expect_error "IDX as HDF5" "$T/good-idx3-ubyte.h5:/x" "$T/good-idx3-ubyte.h5" "No such file"
    cp "$T/good-idx3-ubyte" "$T/notreally.h5"
    expect_error "IDX named .h5" "$T/notreally.h5:/x" "$T/notreally.h5" "not an HDF5 file"
else
    echo "note: python3 with h5py not found: HDF5 error cases skipped"
fi

# and a file source that works: 1 iteration on the 20 valid images
n=$((n + 1))
if "$BIN" train "$T/run.ini" --set "data.source=$T/good-idx3-ubyte.gz" --out "$T/out$n" \
    > "$T/stdout$n" 2> "$T/stderr$n"; then
    ok "valid gz IDX trains"
else
    bad "valid gz IDX: exit status $?"; sed 's/^/    /' "$T/stderr$n"
fi

echo "test_data_errors: $n cases, $fails failed"
[ $fails -eq 0 ]
