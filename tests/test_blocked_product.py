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

// The largest |c - exact| / (gamma_n · Σ_k |x_k m_k|) over c[b, o] = Σ_k x[b·depth + k] m[k·k_stride +
// o·o_stride] (copies × outputs), gamma_n = n u / (1 - n u): the error bound of a sum of n products
// rounded to unit roundoff u (Higham, Accuracy and Stability of Numerical Algorithms, eq. 3.5).
// Above 1 is an error the arithmetic cannot make.
template <class real>
double worst_ratio(long copies, long outputs, long depth, const real *x, const real *m, long k_stride, long o_stride,
                   const real *c)
{
    const double u = sizeof(real) == 4 ? ldexp(1.0, -24) : ldexp(1.0, -53);
    const double gamma = depth * u / (1 - depth * u);
    double worst = 0;
    for (long b = 0; b < copies; b++)
        for (long o = 0; o < outputs; o++)
        {
            long double exact = 0, size = 0;
            for (long k = 0; k < depth; k++)
            {
                const long double term = (long double)x[b * depth + k] * m[k * k_stride + o * o_stride];
                exact += term;
                size += fabsl(term);
            }
            worst = fmax(worst, (double)(fabsl(c[b * outputs + o] - exact) / (gamma * size)));
        }
    return worst;
}

template <class real>
void fill(std::vector<real> &values, unsigned &seed)
{
    for (size_t i = 0; i < values.size(); i++)
        values[i] = (real)((seed = seed * 1103515245u + 12345u) % 2001) / 1000 - 1;
}

template <class real>
void check(const char *name, long copies, long rows, long columns, unsigned seed)
{
    std::vector<real> input(copies * columns), matrix(rows * columns), output(copies * rows),
        scratch(copies * columns), input_t(copies * rows), wide(copies * columns);
    fill(input, seed);
    fill(matrix, seed);
    fill(input_t, seed);
    pc_batch_product<real>(copies, rows, columns, input.data(), matrix.data(), output.data(), scratch.data());
    // the transposed product: input_t (copies × rows) · matrix (rows × columns) = copies × columns
    pc_batch_product_transposed<real>(copies, columns, rows, input_t.data(), matrix.data(), wide.data());
    const double worst = worst_ratio(copies, rows, columns, input.data(), matrix.data(), 1, columns, output.data());
    const double worst_t = worst_ratio(copies, columns, rows, input_t.data(), matrix.data(), columns, 1, wide.data());
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
