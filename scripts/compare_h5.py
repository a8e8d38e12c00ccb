#!/usr/bin/python3
"""compare_h5.py A.h5 B.h5: every dataset of two proxflow files (checkpoints, run.h5,
sample files) compared byte for byte; wall-clock datasets (wall_s,
seconds_per_iteration, samples_per_second) are left out.  Exit 0 if all are equal,
1 otherwise (each difference named).  docs/DESIGN.md "Checking a refactoring"."""
import sys

import h5py

TIMED = ("wall_s", "seconds_per_iteration", "samples_per_second")


def datasets(f):
    out = {}
    f.visititems(lambda name, obj: out.__setitem__(name, obj[...])
                 if isinstance(obj, h5py.Dataset) else None)
    return out


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    with h5py.File(sys.argv[1], "r") as fa, h5py.File(sys.argv[2], "r") as fb:
        a, b = datasets(fa), datasets(fb)
    bad = 0
    for k in sorted(set(a) | set(b)):
        if k.endswith(TIMED):
            continue
        if k not in a or k not in b:
            print("only in one file:", k)
            bad += 1
        elif a[k].shape != b[k].shape or a[k].tobytes() != b[k].tobytes():
            print("different:", k)
            bad += 1
    print(f"{len(a)} datasets compared, {bad} different")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
