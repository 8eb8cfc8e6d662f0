"""Compiled couplings (issue 12): dense couplings as BLAS products and one-to-one links as
generated loops in the C++ standalone program, equal to the runtime engine; one binary for any
duration; the program kept in the cache for later processes and built under a lock; learning
and sequences (item resets, item-end learning) compiled; precision="single" (float32 programs)
against float64 and the exact posterior."""
import fcntl
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from brian2 import Synapses, TimedArray, ms

from circuits import Circuit
from circuits.engines.compiled import DenseProduct, OneToOne, objects
from tests.conftest import build_circuit, random_linear_hierarchy
from tests.validation.gaussian import joint_gaussian, posterior_mean
from tests.validation.test_linear_gaussian import settling_duration

#: One test process runs this whole file (pytest-xdist's loadgroup): its module fixtures are built once.
pytestmark = pytest.mark.xdist_group("compiled")

ROOT = Path(__file__).resolve().parents[1]
BATCH = 3


def build(sparse_top=False, **options):
    """x (6) ← z1 (4, tanh, lateral Σ) ← z2 (2); the z2 → z1 projection sparse if asked."""
    rng = np.random.default_rng(0)
    circuit = Circuit(**options)
    circuit.sensory("x", 6, covariance=0.5)
    circuit.column("z1", 4, covariance=np.eye(4) + 0.2)
    circuit.column("z2", 2, prior_mean=[0.3, -0.2])
    circuit.connect("z1", "x", rng.normal(size=(6, 4)) / 2, activation="tanh")
    top = rng.normal(size=(4, 2)) / 2
    if sparse_top:
        top[[0, 3], [1, 0]] = 0.0
    circuit.connect("z2", "z1", top, backend="synapses" if sparse_top else "dense")
    return circuit


def calls(circuit, stimuli):
    """The same sequence of runs on any device: three durations (33, 20, 7 ms), a time-varying
    stimulus, then constant ones, new weights after a reset."""
    x1, x2, varying = stimuli
    records = [circuit.run(33 * ms, stimulus=TimedArray(varying, dt=0.1 * ms)), circuit.run(20 * ms, stimulus=x1)]
    circuit.set_weights("z1", "x", 0.5 * circuit.weights("z1", "x"))
    circuit.reset()
    records.append(circuit.run(7 * ms, stimulus=x2))
    return records


def stimuli(batch):
    rng = np.random.default_rng(1)
    shape = (batch, 6) if batch else (6,)
    varying = rng.normal(size=(330, batch * 6 if batch else 6))
    return rng.normal(size=shape), rng.normal(size=shape), varying


@pytest.fixture(scope="module")
def batched(tmp_path_factory):
    """A batched (B = 3) circuit on both devices, compiled into a fresh cache while the runtime
    circuit (whose code objects have the same names) is alive."""
    cache = tmp_path_factory.mktemp("cache")
    from circuits import compilation
    runtime = build(batch_size=BATCH)
    theirs = calls(runtime, stimuli(BATCH))
    previous = compilation.cache_directory()
    compilation.set_cache_directory(cache)
    try:
        compiled = build(device="cpp_standalone", batch_size=BATCH)
        ours = calls(compiled, stimuli(BATCH))
    finally:
        compilation.set_cache_directory(previous)
    return compiled, ours, theirs, cache


def _program(cache) -> Path:
    (directory,) = [path for path in (Path(cache) / "standalone").iterdir() if path.is_dir()]   # beside its .lock
    return directory


def test_batched_standalone_equals_runtime(batched):
    """Every recorded step of three runs of different durations (a TimedArray stimulus, then continuing
    with a constant one, new weights after a reset) of a batch of 3 with tanh, lateral Σ and a
    prior: equal to the runtime engine to 1e-12 (both add the same products in float64; the
    BLAS kernels may order the sums differently)."""
    _, ours, theirs, _ = batched
    assert [len(r.t) for r in ours] == [330, 200, 70]
    for mine, reference in zip(ours, theirs):
        np.testing.assert_allclose(np.asarray(mine.t), np.asarray(reference.t), atol=1e-12)
        for name in reference.estimate:
            np.testing.assert_allclose(mine.estimate[name], reference.estimate[name], rtol=0, atol=1e-12)
            np.testing.assert_allclose(mine.error[name], reference.error[name], rtol=0, atol=1e-12)
        np.testing.assert_allclose(mine.free_energy, reference.free_energy, rtol=1e-12)


def test_dense_couplings_are_blas_products(batched):
    """No Synapses in the program: each dense coupling is a DenseProduct whose generated code
    is one batch product (include/pc_blas.h: blocked kernel or dgemm) over the batch, each
    one-to-one link a OneToOne loop; the program's arrays are allocated 64-byte aligned."""
    compiled, _, _, cache = batched
    objects = compiled.network.objects
    assert not any(isinstance(o, Synapses) for o in objects)
    products = {o.name for o in objects if isinstance(o, DenseProduct)}   # a tied pair is one object
    assert products == {"generative_z1_to_x", "generative_z2_to_z1", "z1_lateral"}
    links = {o.name for o in objects if isinstance(o, OneToOne)}
    assert links == {"x_estimate_to_error", "z1_estimate_to_error", "z1_error_to_estimate",
                     "z2_estimate_to_error", "z2_error_to_estimate"}
    code = _program(cache) / "code_objects"
    for name in products:   # batched: one batch call each (plain loops serve small single copies)
        source = (code / f"{name}_codeobject.cpp").read_text()
        call = "pc_batch_product(" if name == "z1_lateral" else "pc_batch_pair("
        assert source.count(call) == 1 and "pc_gemv(" not in source
    # every array on a 64-byte boundary (templates/objects.cpp): vector loads of a matrix row
    # never straddle two cache lines
    assert "posix_memalign(&block, 64," in (_program(cache) / "objects.cpp").read_text()


def test_one_binary_for_every_duration_and_a_warm_process(batched):
    """The three runs (33, 20, 7 ms) used the binary of the first; a new Python process that
    builds the same circuit runs it without compiling — although the program was generated
    next to a living runtime circuit — no object file or binary is rewritten, and its results
    equal this process's to 1e-12."""
    _, ours, _, cache = batched
    program = _program(cache)
    built = sorted(program.glob("**/*.o")) + [program / "main"]
    stamps = {p: p.stat().st_mtime_ns for p in built}
    output = subprocess.run([sys.executable, "-c", f"import tests.test_compiled as t; t.warm_run({str(cache)!r})"],
                            cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert {p: p.stat().st_mtime_ns for p in built} == stamps
    final = np.array([float(v) for v in output.split()[-BATCH * 2:]]).reshape(BATCH, 2)
    np.testing.assert_allclose(final, ours[-1].estimate["z2"][-1], rtol=0, atol=1e-12)


def test_the_makefile_does_not_depend_on_what_ran_before(tmp_path, monkeypatch):
    """Brian2's runtime (Cython) compilation appends a folder of its package (brian2/synapses in
    2.9, brian2/devices/cpp_standalone/brianlib in 2.11) to the shared list of C++ include
    folders, so a program built after it got another makefile than a fresh process's, and a
    later process recompiled the cached program (the warm-process test failed in CI that way):
    with such a folder appended, the makefile has no trace of it."""
    import brian2.synapses
    from brian2 import prefs
    appended = os.path.dirname(brian2.synapses.__file__)
    monkeypatch.setitem(prefs, "codegen.cpp.include_dirs", list(prefs["codegen.cpp.include_dirs"]) + [appended])
    build(device="cpp_standalone", standalone_directory=str(tmp_path)).run(1 * ms, stimulus=np.ones(6), record=False)
    assert appended not in (tmp_path / "makefile").read_text()


def warm_run(cache):
    """In a new process: the fixture's circuit and calls, printing z2's last recorded estimates."""
    from circuits import compilation
    compilation.set_cache_directory(cache)
    circuit = build(device="cpp_standalone", batch_size=BATCH)
    print(*calls(circuit, stimuli(BATCH))[-1].estimate["z2"][-1].ravel())


def test_processes_building_one_program_take_turns(tmp_path):
    """A process building a program waits while another holds its lock (<directory>.lock):
    with the lock held here, a new process writes nothing into the program's directory in 20 s
    (it writes its makefile within seconds otherwise); once released, it builds and runs."""
    program = tmp_path / "program"
    script = ("import numpy as np; from brian2 import ms; import tests.test_compiled as t; "
              f"t.build(device='cpp_standalone', standalone_directory={str(program)!r})"
              ".run(5 * ms, stimulus=np.ones(6), record=False)")
    with open(tmp_path / "program.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        child = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stderr=subprocess.PIPE, text=True)
        time.sleep(20)
        assert child.poll() is None and not (program / "makefile").exists()
        fcntl.flock(lock, fcntl.LOCK_UN)
    _, errors = child.communicate(timeout=600)
    assert child.returncode == 0, errors
    assert (program / "main").exists()


def test_sparse_couplings_stay_synapses(tmp_path):
    """A synapses-backend projection is a Synapses object connected where W ≠ 0 (6 of 8
    weights), equal to the runtime engine to 1e-12; weights that are non-zero where it has no
    synapse are refused, naming the coupling."""
    compiled = build(sparse_top=True, device="cpp_standalone", standalone_directory=str(tmp_path))
    runtime = build(sparse_top=True)
    x = np.random.default_rng(2).normal(size=6)
    ours, theirs = compiled.run(15 * ms, stimulus=x), runtime.run(15 * ms, stimulus=x)
    for name in theirs.estimate:
        np.testing.assert_allclose(ours.estimate[name], theirs.estimate[name], rtol=0, atol=1e-12)
    synapses = [o for o in compiled.network.objects if isinstance(o, Synapses)]
    assert sorted(s.name for s in synapses) == ["generative_z2_to_z1", "inference_z1_to_z2"]
    assert all(len(s) == 6 for s in synapses)
    compiled.set_weights("z2", "z1", np.ones((4, 2)))
    with pytest.raises(ValueError, match="generative_z2_to_z1"):
        compiled.run(5 * ms, stimulus=x)


@pytest.mark.parametrize("activation, order, fused", [(None, 0, True), ("linear", 0, True), ("tanh", 0, False),
                                                     (None, -1, False)])
def test_a_tied_coupling_is_fused_only_where_the_pass_computes_it_unchanged(activation, order, fused):
    """The bottom-up coupling Mᵀ joins its generative coupling's pass over M only where that pass
    computes what the coupling asks: its source as it is (no activation) at the same place in
    the step (the same order). Otherwise it is a product of its own, reading the shared M
    transposed (one copy of M either way)."""
    from brian2 import Clock, NeuronGroup

    from circuits.coupling import Coupling
    from circuits.engines.compiled.program import build_couplings
    from populations import get_activation

    clock = Clock(0.1 * ms)
    groups = {name: NeuronGroup(size, "u : 1\nv : 1", clock=clock, name=f"tied_{name}")
              for name, size in (("lower", 3), ("upper", 2))}
    matrix = np.arange(6.0).reshape(3, 2)
    couplings = [Coupling("down", "upper", "u", "lower", "v", matrix),
                 Coupling("up", "lower", "u", "upper", "v", matrix.T,
                          activation=get_activation(activation) if activation else None, order=order)]
    built = build_couplings(couplings, groups, clock, copies=1, sparse=set())
    products = [o for o in built.objects if isinstance(o, DenseProduct)]
    assert [p.name for p in products] == (["down"] if fused else ["down", "up"])
    assert len(built.matrices) == 1
    assert built.shares_matrix("up") and not built.shares_matrix("down")   # the program's cache key reads these
    apart = build_couplings(couplings, groups, clock, copies=1, sparse={"up"})   # "up" stays Synapses
    assert not apart.shares_matrix("up") and not apart.shares_matrix("down")


def test_the_clock_rule_refuses_to_compile_a_loop_it_does_not_know():
    """templates/runtime_clocks.jinja replaces the network loop's 1e-14 s comparison of clock
    times; a loop without that comparison (Brian2 changed its text) becomes an #error naming
    the template, so that the old rule is never kept silently."""
    from circuits.engines.compiled.objects import CompiledCodeObject

    rule = CompiledCodeObject.templater.env.get_template("runtime_clocks.jinja").module.runtime_clock_rule
    known = rule("if(s==t || fabs(s-t)<=Clock_epsilon)", "the wrapper")
    assert "if(s==t || pc_same_step(s, t, clock, minclock))" in known and "#error" not in known
    unknown = rule("if(s==t || fabs(s-t)<=epsilon)", "the wrapper")
    assert '#error "the wrapper: the network loop no longer compares clocks' in unknown


def test_every_template_and_header_is_package_data():
    """A non-editable install carries the templates and headers the programs are built from:
    each file of templates/, templates_cuda/ and include/ matches setup.cfg's package_data."""
    import configparser
    import fnmatch

    from circuits.engines.compiled.objects import CUDA_TEMPLATES, INCLUDE, TEMPLATES

    config = configparser.ConfigParser()
    config.read(Path(__file__).parents[1] / "setup.cfg")
    patterns = [p.strip() for p in config["options.package_data"]["circuits.engines.compiled"].split(",")]
    for folder in (TEMPLATES, CUDA_TEMPLATES, INCLUDE):
        for file in folder.iterdir():
            name = f"{folder.name}/{file.name}"
            assert any(fnmatch.fnmatch(name, pattern) for pattern in patterns), f"{name} is not in package_data"


def test_a_sequence_past_64_seconds_equals_runtime(tmp_path, device="cpp_standalone", tolerance=1e-12):
    """650 items of 100 ms at dt = 1 ms: the monitors of the item ends tick on a 100 ms clock
    beside the circuit's 1 ms one. Past t = 64 s a unit in the last place of t exceeds 1e-14 s,
    Brian2's C++ network loop's tolerance for simultaneous clocks, and at item 641 the two
    clocks computed 64.10000000000001 and 64.1: the item end was recorded after the next
    item's first step, and the W relearned from it went wrong. With the runtime's rule
    (templates/runtime_clocks.jinja: within 1e-4 of the smaller dt) every item end and the
    learned W and B of learning_circuit equal the runtime engine's to 1e-12 (``device`` and
    ``tolerance``: the CUDA tests run it on a GPU too, to 1e-9)."""
    timing = {"dt": 1 * ms, "tau_estimate": 20 * ms, "tau_error": 5 * ms}
    items = np.random.default_rng(6).normal(size=(650, 5))
    assert abs(641 * 0.1 - 64100 * 0.001) > 1e-14   # the clock times that drifted apart
    compiled = learning_circuit(None, device=device, standalone_directory=str(tmp_path), **timing)
    runtime = learning_circuit(None, **timing)
    ours, theirs = (c.run_sequence(items, item_duration=100 * ms) for c in (compiled, runtime))
    for name in theirs.trial_end:
        np.testing.assert_allclose(ours.trial_end[name], theirs.trial_end[name], rtol=0, atol=tolerance)
    for upper, lower in (("z1", "x"), ("z2", "z1")):
        np.testing.assert_allclose(compiled.weights(upper, lower), runtime.weights(upper, lower), rtol=0, atol=tolerance)
    np.testing.assert_allclose(compiled.graph.projection("z2", "z1").feedback_weights,
                               runtime.graph.projection("z2", "z1").feedback_weights, rtol=0, atol=tolerance)


#: Sizes whose batched products all fit the blocks of the register-blocked kernel
#: (include/pc_blocked.h) on any CPU: a batch of 32, levels of multiples of 32.
BLOCKED = (32, (64, 32, 32))


def learning_circuit(batch_size, sizes=(5, 3, 2), **options):
    """x ← z1 (tanh, tied B = Wᵀ) ← z2 (Kolen–Pollack B), both W plastic with decay."""
    rng = np.random.default_rng(3)
    x, z1, z2 = sizes
    circuit = Circuit(batch_size=batch_size, **options)
    circuit.sensory("x", x)
    circuit.column("z1", z1)
    circuit.column("z2", z2)
    circuit.connect("z1", "x", rng.normal(size=(x, z1)) / np.sqrt(2 * z1), activation="tanh", plastic=True,
                    learning_rate=0.05, weight_decay=0.1)
    circuit.connect("z2", "z1", rng.normal(size=(z1, z2)) / np.sqrt(2 * z2), plastic=True, learning_rate=0.02,
                    weight_decay=0.05, feedback="kolen-pollack", feedback_weights=rng.normal(size=(z2, z1)) / np.sqrt(2 * z1))
    return circuit


def learning_calls(circuit):
    size = circuit.weights("z1", "x").shape[0]
    x = np.random.default_rng(4).normal(size=(circuit.batch.copies, size) if circuit.batch.batched else size)
    records = [circuit.run(20 * ms, stimulus=x), circuit.run(10 * ms, stimulus=-x, learn="trial"),
               circuit.run(10 * ms, stimulus=x, learn=False)]
    return records, [circuit.weights("z1", "x"), circuit.weights("z2", "z1"),
                     circuit.graph.projection("z2", "z1").feedback_weights]


@pytest.mark.parametrize("batch_size, small, sizes, fuse", [
    (2, 0, (5, 3, 2), True), (None, 0, (5, 3, 2), True), (None, objects.SMALL_PRODUCT, (5, 3, 2), True),
    (BLOCKED[0], 0, BLOCKED[1], True), (2, 0, (5, 3, 2), False), (None, 0, (5, 3, 2), False),
    (None, objects.SMALL_PRODUCT, (5, 3, 2), False)],
    ids=["batch of 2", "one copy", "small loops", "blocked", "batch of 2 unfused", "one copy unfused",
         "small loops unfused"])
def test_continuous_learning_equals_runtime(tmp_path, batch_size, small, sizes, fuse, monkeypatch):
    """With every product a BLAS call (dgemv, dgemm, transposed), with one copy's small
    products as plain loops (Kolen–Pollack's W and B untied), and with a batch of 32 whose
    products all take the register-blocked kernel (the tied pair and the untied ones):
    continuous Hebbian learning of W (tanh, tied feedback: both products in one object) and
    of W and B (Kolen–Pollack), with weight decay, then item-end ("trial")
    learning after a run, then a frozen run: every recorded step and the learned W and B equal
    the runtime engine's to 1e-12. "Unfused": the tied bottom-up coupling carries f = tanh on
    the errors it reads, B f(ε) with B = Wᵀ, on both engines: the compiled one cannot fuse it
    (test_a_tied_coupling_is_fused_only_where_the_pass_computes_it_unchanged) and computes it
    as a product of its own through a rate buffer, reading W's parameter group transposed
    (gemv, the small loop, or the batched transposed product)."""
    monkeypatch.setattr(objects, "SMALL_PRODUCT", small)   # 0: every product a BLAS call
    if not fuse:
        from dataclasses import replace

        from circuits.projection import Projection
        from populations import get_activation
        couplings = Projection.couplings

        def tanh_on_the_tied_errors(projection):
            return [replace(c, activation=get_activation("tanh")) if c.name == "inference_x_to_z1" else c
                    for c in couplings(projection)]
        monkeypatch.setattr(Projection, "couplings", tanh_on_the_tied_errors)
    compiled = learning_circuit(batch_size, sizes, device="cpp_standalone", standalone_directory=str(tmp_path))
    runtime = learning_circuit(batch_size, sizes)
    (ours, learned), (theirs, expected) = learning_calls(compiled), learning_calls(runtime)
    assert not np.allclose(expected[0], learning_circuit(batch_size, sizes).weights("z1", "x"))   # it learned
    for mine, reference in zip(ours, theirs):
        for name in reference.estimate:
            np.testing.assert_allclose(mine.estimate[name], reference.estimate[name], rtol=0, atol=1e-12)
            np.testing.assert_allclose(mine.error[name], reference.error[name], rtol=0, atol=1e-12)
    for mine, reference in zip(learned, expected):
        np.testing.assert_allclose(mine, reference, rtol=0, atol=1e-12)
    calls = "".join(p.read_text() for p in (tmp_path / "code_objects").glob("*.cpp"))
    products = calls.count("pc_batch_p") if batch_size else calls.count("pc_gemv(")
    # the tied pair in one call (pc_batch_pair, or one fused loop for one copy), Kolen–Pollack's two products
    assert products >= (3 if batch_size else 2 if small == 0 else 0) and calls.count("pc_gemm(") >= 2   # learning
    inference = tmp_path / "code_objects" / "inference_x_to_z1_codeobject.cpp"   # the tied B = Wᵀ apart
    assert ("_back_target" in calls) == fuse and inference.exists() != fuse


def test_what_cannot_learn_compiled_is_refused():
    """Continuous learning of a covariance through interneurons is refused, and so are the
    sequences that cannot run compiled, each with an error naming it: covariance interneurons,
    continuous learning during a sequence, a top-down reset, samples of q at item ends; a
    program compiled for run() refuses run_sequence and one compiled for items of one length
    refuses others (trial learning of Σ after a run() runs: it is applied in Python)."""
    circuit = Circuit(device="cpp_standalone")
    circuit.sensory("x", 2, learn_covariance=True, covariance_learning_rate=0.01)
    with pytest.raises(ValueError, match="learned covariances or lateral-inhibition flows \\(column 'x'\\)"):
        circuit.run(5 * ms, stimulus=[1.0, 0.0])
    with pytest.raises(ValueError, match="run_sequence with a column with covariance interneurons \\('x'\\)"):
        circuit.run_sequence(np.zeros((2, 2)), 5 * ms)
    plastic = learning_circuit(None, device="cpp_standalone")
    for options, words in (({"learn": "continuous"}, "learn='continuous'"),
                           ({"reset_between": "prediction"}, "reset_between='prediction'"),
                           ({"learn_at": "laplace"}, "learn_at='laplace'")):
        with pytest.raises(ValueError, match=words):
            plastic.run_sequence(np.zeros((2, 5)), 5 * ms, **options)
    plastic.run(1 * ms, stimulus=np.zeros(5), record=False)
    with pytest.raises(ValueError, match="compiled for run\\(\\)"):
        plastic.run_sequence(np.zeros((2, 5)), 5 * ms)


@pytest.mark.parametrize("batch_size, reset_between", [(2, True), (None, True), (None, False)])
def test_sequences_run_compiled_and_equal_runtime(tmp_path, batch_size, reset_between, device="cpp_standalone",
                                                 tolerance=1e-12, precision="double"):
    """run_sequence compiled: items as a TimedArray of one row per item, each item's reset
    (estimates to the prior mean, errors to zero) and item-end learning of W (tanh: f(μ) taken at
    the item's end) and of W, B (Kolen–Pollack) in generated code. Three sequences from one binary
    (5 items learning at item ends, 3 frozen, 4 learning): every item's end state and free energy
    and the learned W and B equal the runtime engine's to 1e-12. The program refuses items of
    another length and run(), naming what it was compiled for."""
    compiled = learning_circuit(batch_size, device=device, standalone_directory=str(tmp_path), precision=precision)
    runtime = learning_circuit(batch_size)
    rng = np.random.default_rng(5)
    shape = (batch_size, 5) if batch_size else (5,)

    def calls(circuit):
        records = [circuit.run_sequence(rng_items(k), 6 * ms, reset_between=reset_between, learn=learn)
                   for k, learn in ((5, "trial"), (3, False), (4, "trial"))]
        return records, [circuit.weights("z1", "x"), circuit.weights("z2", "z1"),
                         circuit.graph.projection("z2", "z1").feedback_weights]

    def rng_items(count):
        return rng.normal(size=(count, *shape))
    ours, learned = calls(compiled)
    rng = np.random.default_rng(5)
    theirs, expected = calls(runtime)
    assert not np.allclose(expected[0], learning_circuit(batch_size).weights("z1", "x"))   # it learned
    for mine, reference in zip(ours, theirs):
        for name in reference.trial_end:
            np.testing.assert_allclose(mine.trial_end[name], reference.trial_end[name], rtol=0, atol=tolerance)
            np.testing.assert_allclose(mine.trial_error[name], reference.trial_error[name], rtol=0, atol=tolerance)
        np.testing.assert_allclose(mine.trial_free_energy, reference.trial_free_energy, rtol=tolerance)
    for mine, reference in zip(learned, expected):
        np.testing.assert_allclose(mine, reference, rtol=0, atol=tolerance)
    with pytest.raises(ValueError, match="items of 60 steps"):
        compiled.run_sequence(rng_items(2), 3 * ms, reset_between=reset_between)
    with pytest.raises(ValueError, match="compiled for run_sequence"):
        compiled.run(1 * ms, stimulus=rng_items(1)[0])


# -- precision="single" -----------------------------------------------------------------------
#: float32 rounds each operation to 2^-24 ≈ 6e-8 relative. Forward Euler adds dt/τ_μ = 1/100 of
#: the residual a step, and an increment below half an ulp of μ is lost: float32 can stall where
#: the residual is ~(τ_μ/dt)·2^-24 ≈ 6e-6 of the O(1) terms (STALL). Trajectories stay within
#: SINGLE = 2e-6 of double precision (measured ≤ 4e-7 over calls(): they are not at a stall);
#: 1e-9 is far above double precision's differences (1e-12 above) and far below float32's, so a
#: program that silently computed in double fails the "differs" half.
ROUNDING = 2.0 ** -24
STALL = 100 * ROUNDING
SINGLE = 2e-6


@pytest.mark.parametrize("batch_size", [None, BATCH])
def test_single_precision_follows_double_to_float32_rounding(tmp_path, batch_size, monkeypatch):
    """precision="single": the program's arrays are float32 and its products sgemv (one copy:
    every product a BLAS call, the tied pair in one fused pass) or sgemm (a batch of 3). The
    three runs of calls() (tanh, lateral Σ, a prior, a time-varying then constant stimuli, new
    weights after a reset) stay within SINGLE of the float64 runtime engine at every recorded
    step, F too; they differ from it by more than 1e-9 somewhere (float32 did the arithmetic);
    the circuit hands back float64 arrays."""
    monkeypatch.setattr(objects, "SMALL_PRODUCT", 0)
    compiled = build(device="cpp_standalone", precision="single", batch_size=batch_size,
                     standalone_directory=str(tmp_path))
    ours, theirs = calls(compiled, stimuli(batch_size)), calls(build(batch_size=batch_size), stimuli(batch_size))
    assert compiled.columns["z1"].estimate.variables["mu"].dtype == np.float32
    assert compiled.weights("z1", "x").dtype == np.float64 and compiled.estimate("z1").dtype == np.float64
    largest = 0.0
    for mine, reference in zip(ours, theirs):
        assert mine.estimate["z1"].dtype == np.float64
        for name in reference.estimate:
            for field in ("estimate", "error"):
                difference = np.abs(getattr(mine, field)[name] - getattr(reference, field)[name]).max()
                assert difference <= SINGLE, (name, field, difference)
                largest = max(largest, difference)
        np.testing.assert_allclose(mine.free_energy, reference.free_energy, rtol=SINGLE, atol=SINGLE)
    assert largest > 1e-9
    source = "".join(p.read_text() for p in (tmp_path / "code_objects").glob("*.cpp"))
    assert "const float* __restrict _r0" in source if batch_size is None else source.count("pc_batch_p") >= 3


@pytest.mark.parametrize("batch_size, sizes", [(2, (5, 3, 2)), BLOCKED], ids=["batch of 2", "blocked"])
def test_single_precision_learns_like_double(tmp_path, batch_size, sizes):
    """Continuous learning (tied W, Kolen–Pollack W and B, decay) for 200 steps over a batch of
    2 in float32 (sgemm), and over a batch of 32 whose products take the register-blocked
    kernel, then item-end learning (applied in Python, float64) and a frozen run: every learned
    matrix within the bound of one float32 rounding per update, added up over the 200 compiled
    updates (200 · 2^-24 · max|W|, ~2e-5; measured 3e-6), of the float64 runtime engine's;
    trajectories within SINGLE for the 5 inputs of the small circuit, SINGLE · √(64/5) = 7e-6 for
    the 64 of the blocked one (a sum of n rounded products errs like a random walk, ∝ √n;
    measured 2.5e-6, identical with the kernel switched off)."""
    compiled = learning_circuit(batch_size, sizes, device="cpp_standalone", precision="single",
                                standalone_directory=str(tmp_path))
    (ours, learned), (theirs, expected) = learning_calls(compiled), learning_calls(learning_circuit(batch_size, sizes))
    for mine, reference in zip(learned, expected):
        np.testing.assert_allclose(mine, reference, rtol=0, atol=200 * ROUNDING * np.abs(reference).max())
    for mine, reference in zip(ours, theirs):
        np.testing.assert_allclose(mine.estimate["z1"], reference.estimate["z1"], rtol=0,
                                   atol=SINGLE * np.sqrt(sizes[0] / 5))


def test_single_precision_settles_on_the_exact_posterior(rng, tmp_path):
    """A random linear 3-level hierarchy (full Σ, biases, a prior, O(1) values) in float32
    settles on the posterior mean from joint-Gaussian conditioning to 2·STALL (1.2e-5) in every
    entry: Euler stalls where the gradient (the residual) is ~STALL of the O(1) terms, and the
    distance to the posterior mean is at most the residual over the smallest eigenvalue of the
    posterior precision (asserted ≥ 0.5 here; measured error 3e-6)."""
    model = random_linear_hierarchy(rng, (8, 4, 2))
    x = rng.normal(size=8)
    circuit = build_circuit(model, device="cpp_standalone", precision="single", standalone_directory=str(tmp_path))
    circuit.run(settling_duration(model), stimulus=x, record=False)
    assert np.linalg.eigvalsh(np.linalg.inv(joint_gaussian(model)[1])[8:, 8:]).min() >= 0.5
    for name, expected in posterior_mean(model, {"x": x}).items():
        assert np.abs(circuit.estimate(name) - expected).max() <= 2 * STALL


def test_single_precision_runs_sequences(tmp_path):
    """run_sequence in float32 over a batch of 2 (item resets, item-end learning of W and of
    Kolen–Pollack W and B by sgemm, f(μ) at the item's end): every item's end state, F and the
    learned matrices within SINGLE of the float64 runtime engine's (12 item-end updates add
    ~1e-6 at most)."""
    test_sequences_run_compiled_and_equal_runtime(tmp_path, 2, True, tolerance=SINGLE, precision="single")


def test_precision_is_checked():
    """"single" is refused where it is not built (the runtime device), naming the devices that
    build it, and so is a misspelling."""
    with pytest.raises(ValueError, match="precision='single': device='runtime' computes in double precision only; "
                                         "use device='cpp_standalone' or 'cuda_standalone' for precision='single'"):
        Circuit(device="runtime", precision="single")
    with pytest.raises(ValueError, match="precision must be one of 'double', 'single'; got 'half'"):
        Circuit(device="cpp_standalone", precision="half")
