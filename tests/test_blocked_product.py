"""The batched products of the compiled engine (include/pc_blas.h, include/pc_blocked.h) against
exact sums: a small C++ program, compiled with Brian2's flags and linked to the BLAS the engine
uses, computes pc_batch_product (output = input · Mᵀ), pc_batch_product_transposed (output =
input · M) and pc_batch_pair (both, one pass over M) in float and double for shapes that take the register-blocked kernel (whole blocks;
depth panels added up; a large matrix copied panel by panel) and shapes that fall back to gemm,
with the AVX-512 blocks (8 rows × two 64-byte vectors), the AVX2 ones (4 × two 32-byte vectors)
and with the kernel switched off."""
import subprocess

import pytest

from circuits.engines.compiled.objects import build_with_blas

#: (copies, rows, columns): output = input (copies × columns) · Mᵀ for M rows × columns, and
#: output (copies × columns) = input (copies × rows) · M. The first seven fit every block size of
#: the kernel (copies, rows and columns multiples of 32): one depth panel; three (608 = 256 + 256
#: + 96, the later ones added to the output); a matrix over PC_PACK_BYTES (4096 · 160 · 4 bytes
#: > 2 MiB: copied panel by panel); a batch of 64; the benchmark's (1024, 256) level; the two
#: levels of test_compiled.BLOCKED. The last two fit no block and take gemm.
SHAPES = [(32, 64, 96), (32, 608, 96), (32, 4096, 160), (64, 32, 64), (32, 1024, 256), (32, 64, 32), (32, 32, 32),
          (3, 7, 5), (10, 20, 30)]
FITTING = 7   # (32, 64, 32) and (32, 32, 32): the levels of test_compiled.BLOCKED take the kernel

PROGRAM = r"""
#include <math.h>
#include <stdio.h>
#include <vector>
#include "pc_blas.h"

// The largest |computed - exact| / (gamma_n · Σ_k |a_k b_k|) over the output, gamma_n = n u / (1 - n u):
// the error bound of a sum of n products rounded to unit roundoff u (Higham, Accuracy and
// Stability of Numerical Algorithms, eq. 3.5). Above 1 is an error the arithmetic cannot make.
template <class real>
void check(const char *name, long copies, long rows, long columns, unsigned seed)
{
    std::vector<real> input(copies * columns), matrix(rows * columns), output(copies * rows),
        transposed_output(copies * rows), scratch(copies * columns), input_t(copies * rows);
    for (size_t i = 0; i < input.size(); i++) input[i] = (real)((seed = seed * 1103515245u + 12345u) % 2001) / 1000 - 1;
    for (size_t i = 0; i < matrix.size(); i++) matrix[i] = (real)((seed = seed * 1103515245u + 12345u) % 2001) / 1000 - 1;
    for (size_t i = 0; i < input_t.size(); i++) input_t[i] = (real)((seed = seed * 1103515245u + 12345u) % 2001) / 1000 - 1;
    std::vector<real> wide(copies * columns);
    pc_batch_product<real>(copies, rows, columns, input.data(), matrix.data(), output.data(), scratch.data());
    // the transposed product: input_t (copies × rows) · matrix (rows × columns) = copies × columns
    pc_batch_product_transposed<real>(copies, columns, rows, input_t.data(), matrix.data(), wide.data());
    const double u = sizeof(real) == 4 ? ldexp(1.0, -24) : ldexp(1.0, -53);
    double worst = 0, worst_t = 0;
    for (long b = 0; b < copies; b++)
        for (long i = 0; i < rows; i++)
        {
            long double exact = 0, size = 0;
            for (long j = 0; j < columns; j++)
            {
                exact += (long double)input[b * columns + j] * matrix[i * columns + j];
                size += fabsl((long double)input[b * columns + j] * matrix[i * columns + j]);
            }
            const double gamma = columns * u / (1 - columns * u);
            worst = fmax(worst, (double)(fabsl(output[b * rows + i] - exact) / (gamma * size)));
        }
    for (long b = 0; b < copies; b++)
        for (long j = 0; j < columns; j++)
        {
            long double exact = 0, size = 0;
            for (long i = 0; i < rows; i++)
            {
                exact += (long double)input_t[b * rows + i] * matrix[i * columns + j];
                size += fabsl((long double)input_t[b * rows + i] * matrix[i * columns + j]);
            }
            const double gamma = rows * u / (1 - rows * u);
            worst_t = fmax(worst_t, (double)(fabsl(wide[b * columns + j] - exact) / (gamma * size)));
        }
    // the tied pair in one pass: the same sums, panel by panel, as the two products apart
    std::vector<real> pair_output(copies * rows), pair_back(copies * columns);
    pc_batch_pair<real>(copies, rows, columns, input.data(), matrix.data(), pair_output.data(), input_t.data(),
                        pair_back.data(), scratch.data());
    const int same = pair_output == output && pair_back == wide;
    int fits = 0, fits_t = 0;
#ifdef PC_BLOCKED_PRODUCT
    fits = pc_blocked_fits<real>(rows, copies);
    fits_t = pc_blocked_fits<real>(copies, columns);
#endif
    printf("%s %ld %ld %ld %d %d %.6g %.6g %d\n", name, copies, rows, columns, fits, fits_t, worst, worst_t, same);
}

int main()
{
    unsigned seed = 1;
%(calls)s
    return 0;
}
"""


def run_program(tmp_path, *flags):
    """Compile and run the checks; {(precision, shape): (fits, fits_transposed, worst, worst_transposed,
    pair equal to the two products)}."""
    calls = "\n".join(f'    check<{real}>("{real}", {c}, {r}, {k}, seed++);' for real in ("float", "double")
                      for c, r, k in SHAPES)
    source = tmp_path / "check.cpp"
    source.write_text(PROGRAM.replace("%(calls)s", calls))
    build_with_blas(source, tmp_path / "check", *flags)
    lines = subprocess.run([str(tmp_path / "check")], check=True, capture_output=True, text=True).stdout.split("\n")
    results = {}
    for line in filter(None, lines):
        real, copies, rows, columns, fits, fits_t, worst, worst_t, same = line.split()
        results[real, (int(copies), int(rows), int(columns))] = (int(fits), int(fits_t), float(worst), float(worst_t),
                                                                 int(same))
    return results


@pytest.mark.parametrize("flags, blocked", [((), True), (("-mno-avx512f",), True), (("-DPC_NO_BLOCKED_PRODUCT",), False)],
                         ids=["native", "avx2", "gemm only"])
def test_batch_products_are_within_the_rounding_bound(tmp_path, flags, blocked):
    """Every output of both products within the rounding bound of a sum of n products,
    γ_n Σ|a_k b_k| (γ_n = n·u/(1 − n·u), u = 2^-24 or 2^-53), of the exact sum (long double);
    the first shapes take the blocked kernel (all of them with the kernel on, none with it off)
    and the last ones gemm; pc_batch_pair (a tied projection's two products in one pass over M)
    equals the two products computed apart, bit for bit (the same sums in the same order)."""
    results = run_program(tmp_path, *flags)
    assert len(results) == 2 * len(SHAPES)
    for (real, shape), (fits, fits_t, worst, worst_t, same) in results.items():
        expected = blocked and SHAPES.index(shape) < FITTING
        assert (fits, fits_t) == (expected, expected), (real, shape)
        assert worst <= 1 and worst_t <= 1, (real, shape, worst, worst_t)
        assert worst > 0 or real == "double", (real, shape)   # float32 rounded somewhere: it ran in float
        assert same, (real, shape)
