"""The batched products of the C++ engine: the register-blocked kernel (include/pc_blocked.h)
against gemm of the engine's BLAS, on one core.

A small C++ program times pc_batch_product (output = input · Mᵀ: a prediction W f(μ) over a
batch) and pc_batch_product_transposed (output = input · M: the bottom-up Wᵀ ε of a tied
projection) for a batch of B copies; it is built twice, with the kernel and with
``-DPC_NO_BLOCKED_PRODUCT`` (every product a gemm call), with the engine's compiler flags and
BLAS (``build_with_blas``), and each build runs pinned to one core. Prints GFLOP/s and the
speed-up (gemm time / kernel time) per shape and precision.

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
#include <vector>
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

template <class real> void measure(const char *name, long copies, long rows, long columns)
{
    std::vector<real> input(copies * columns, (real)0.5), matrix(rows * columns, (real)0.25),
        output(copies * rows), scratch(copies * columns), errors(copies * rows, (real)0.5), back(copies * columns);
    const double product = time_us<real>([&] {
        pc_batch_product<real>(copies, rows, columns, input.data(), matrix.data(), output.data(), scratch.data());
    });
    const double transposed = time_us<real>([&] {
        pc_batch_product_transposed<real>(copies, columns, rows, errors.data(), matrix.data(), back.data());
    });
    printf("%s %ld %ld %ld %.4f %.4f\n", name, copies, rows, columns, product, transposed);
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
        real, copies, rows, columns, product, transposed = line.split()
        times[real, int(rows), int(columns)] = (float(product), float(transposed))
    return times


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--json", help="measurements written here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as directory:
        blocked = run(Path(directory), args.batch)
        gemm = run(Path(directory), args.batch, "-DPC_NO_BLOCKED_PRODUCT")
    print(f"B = {args.batch}; GFLOP/s of output = input · Mᵀ (W f) and of input · M (Wᵀ ε), one core")
    print(f"{'precision':>9} {'M':>11} {'kernel':>8} {'gemm':>8} {'speed-up':>8} | {'kernel':>8} {'gemm':>8} "
          f"{'speed-up':>8}")
    rows_out = []
    for key in blocked:
        real, rows, columns = key
        flops = 2.0 * args.batch * rows * columns / 1e3   # per µs → GFLOP/s
        (bp, bt), (gp, gt) = blocked[key], gemm[key]
        print(f"{real:>9} {f'{rows}x{columns}':>11} {flops / bp:8.1f} {flops / gp:8.1f} {gp / bp:8.2f} | "
              f"{flops / bt:8.1f} {flops / gt:8.1f} {gt / bt:8.2f}")
        rows_out.append({"precision": real, "rows": rows, "columns": columns, "batch": args.batch,
                         "kernel_us": [bp, bt], "gemm_us": [gp, gt]})
    if args.json:
        Path(args.json).write_text(json.dumps(rows_out, indent=1))


if __name__ == "__main__":
    main()
