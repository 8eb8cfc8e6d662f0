"""The batched products of the C++ engine: the register-blocked kernel (include/pc_blocked.h)
against gemm of the engine's BLAS, on one core.

A small C++ program times pc_batch_product (output = input · Mᵀ: a prediction W f(μ) over a
batch), pc_batch_product_transposed (output = input · M: the bottom-up Wᵀ ε of a tied
projection) and pc_batch_pair (both in one pass over M, as a tied projection's program runs
them) for a batch of B copies, on 64-byte-aligned arrays as in a compiled program; it is built
twice, with the kernel and with ``-DPC_NO_BLOCKED_PRODUCT`` (every product a gemm call; the
pair two of them), with the engine's compiler flags and BLAS (``build_with_blas``), and each
build runs pinned to one core. Prints GFLOP/s and the speed-up (gemm time / kernel time) per
shape and precision, and for the pair also its time against the two products timed apart.

    python benchmarks/bench_products.py [--batch 32] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
from pathlib import Path

from circuits.engines.compiled.objects import build_with_blas

#: (rows, columns) of M: the levels of the engines benchmark's hierarchies, and larger ones.
SHAPES = [(64, 16), (256, 64), (1024, 256), (4096, 1024), (1024, 1024)]

PROGRAM = r"""
#include <chrono>
#include <stdio.h>
#include <stdlib.h>
#include "pc_blas.h"

template <class real, class F> double time_us(F f)
{
    f();
    long repeats = 1;
    for (;;)
    {
        auto start = std::chrono::steady_clock::now();
        for (long r = 0; r < repeats; r++) f();
        double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        if (elapsed > 0.3) return elapsed / repeats * 1e6;
        repeats *= 2;
    }
}

// n numbers equal to value on a 64-byte boundary (a compiled program's arrays are, templates/objects.cpp)
template <class real> real *numbers(long n, real value)
{
    void *block = 0;
    if (posix_memalign(&block, 64, n * sizeof(real)) != 0) abort();
    real *a = (real *)block;
    for (long i = 0; i < n; i++) a[i] = value;
    return a;
}

template <class real> void measure(const char *name, long copies, long rows, long columns)
{
    real *input = numbers<real>(copies * columns, 0.5), *matrix = numbers<real>(rows * columns, 0.25),
         *output = numbers<real>(copies * rows, 0), *scratch = numbers<real>(copies * columns, 0),
         *errors = numbers<real>(copies * rows, 0.5), *back = numbers<real>(copies * columns, 0);
    const double product = time_us<real>([&] {
        pc_batch_product<real>(copies, rows, columns, input, matrix, output, scratch);
    });
    const double transposed = time_us<real>([&] {
        pc_batch_product_transposed<real>(copies, columns, rows, errors, matrix, back);
    });
    const double pair = time_us<real>([&] {
        pc_batch_pair<real>(copies, rows, columns, input, matrix, output, errors, back, scratch);
    });
    printf("%s %ld %ld %ld %.4f %.4f %.4f\n", name, copies, rows, columns, product, transposed, pair);
    real *arrays[] = {input, matrix, output, scratch, errors, back};
    for (real *a : arrays) free(a);
}

int main()
{
%(calls)s
    return 0;
}
"""


def run(directory: Path, batch: int, *flags: str) -> dict:
    calls = "\n".join(f'    measure<{real}>("{real}", {batch}, {rows}, {columns});'
                      for real in ("float", "double") for rows, columns in SHAPES)
    source = directory / "products.cpp"
    source.write_text(PROGRAM.replace("%(calls)s", calls))
    binary = directory / ("products" + "".join(flag.replace("-", "_") for flag in flags))
    build_with_blas(source, binary, *flags)
    cpu = str(min(os.sched_getaffinity(0)))
    lines = subprocess.run(["taskset", "-c", cpu, str(binary)], check=True, capture_output=True,
                           text=True).stdout.split("\n")
    times = {}
    for line in filter(None, lines):
        real, copies, rows, columns, *microseconds = line.split()
        times[real, int(rows), int(columns)] = tuple(map(float, microseconds))   # product, transposed, pair
    return times


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--json", help="measurements written here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as directory:
        blocked = run(Path(directory), args.batch)
        gemm = run(Path(directory), args.batch, "-DPC_NO_BLOCKED_PRODUCT")
    print(f"B = {args.batch}; GFLOP/s of output = input · Mᵀ (W f), of input · M (Wᵀ ε) and of both in one "
          f"pass (pair; 'apart': its time / the two products' times), one core")
    print(f"{'precision':>9} {'M':>11} {'kernel':>8} {'gemm':>8} {'speed-up':>8} | {'kernel':>8} {'gemm':>8} "
          f"{'speed-up':>8} | {'pair':>8} {'gemm':>8} {'speed-up':>8} {'apart':>6}")
    rows_out = []
    for key in blocked:
        real, rows, columns = key
        flops = 2.0 * args.batch * rows * columns / 1e3   # per µs → GFLOP/s
        (bp, bt, bb), (gp, gt, gb) = blocked[key], gemm[key]
        print(f"{real:>9} {f'{rows}x{columns}':>11} {flops / bp:8.1f} {flops / gp:8.1f} {gp / bp:8.2f} | "
              f"{flops / bt:8.1f} {flops / gt:8.1f} {gt / bt:8.2f} | {2 * flops / bb:8.1f} {2 * flops / gb:8.1f} "
              f"{gb / bb:8.2f} {bb / (bp + bt):6.2f}")
        rows_out.append({"precision": real, "rows": rows, "columns": columns, "batch": args.batch,
                         "kernel_us": [bp, bt, bb], "gemm_us": [gp, gt, gb]})
    if args.json:
        Path(args.json).write_text(json.dumps(rows_out, indent=1))


if __name__ == "__main__":
    main()
