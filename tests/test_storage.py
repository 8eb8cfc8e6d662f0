"""Issue 11: nothing lost on save, and model files that are damaged are refused cleanly.

- The issue's case: after ``c.attend("x", 4.0)``, save → load → the same run gives the same
  numbers bit for bit (μ was 0.1881 vs 0.1657 when gains were not saved).
- Fuzzed files — truncated at every 97th byte, single bit flips, a wrong version, every key
  missing, random bytes, a pickled payload — always raise ValueError (or, for a flip in bytes
  that carry nothing, such as a timestamp, load the identical circuit), never unpickle, and
  never change anything on disk.
- Files of format version 2 (before rectified errors and spiking neurons, issue 15, deep
  projections, issue 13, and sparse priors and clamps, issue 14) still load, as rate circuits
  with signed errors, one layer per projection, Gaussian priors and no clamps.
"""
from __future__ import annotations

import hashlib
import json
import os
import zipfile

import numpy as np
import pytest
from brian2 import TimedArray, ms

from circuits import Circuit
from circuits.storage import FORMAT_VERSION, read


def _cue_circuit() -> Circuit:
    c = Circuit()
    c.sensory("x", 1, covariance=1.0)
    c.sensory("y", 1, covariance=1.0)
    c.column("z", 1, covariance=4.0)
    c.connect("z", "x", [[1.0]])
    c.connect("z", "y", [[1.0]])
    return c


@pytest.mark.parametrize("gain", [4.0, "timed"])
def test_attention_is_saved(gain, tmp_path):
    """The issue's case (a = 1, b = −1 seen by z; x attended with γ = 4): the loaded circuit
    runs bit-identically, and differently from an unattended one."""
    c = _cue_circuit()
    c.attend("x", TimedArray(np.array([[4.0], [0.25]]), dt=10 * ms) if gain == "timed" else gain)
    c.save(tmp_path / "attended.npz")
    loaded = Circuit.load(tmp_path / "attended.npz")
    stimulus = {"x": [1.0], "y": [-1.0]}
    original, again = c.run(20 * ms, stimulus=stimulus), loaded.run(20 * ms, stimulus=stimulus)
    np.testing.assert_array_equal(again.estimate["z"], original.estimate["z"])
    np.testing.assert_array_equal(again.error["x"], original.error["x"])
    plain = _cue_circuit().run(20 * ms, stimulus=stimulus)
    assert abs(plain.estimate["z"][-1, 0] - original.estimate["z"][-1, 0]) > 0.05


def _model_file(tmp_path) -> bytes:
    """A small model with every kind of entry: full Σ, a learned Σ, weights, bias, random
    feedback, attention, an encoder, rectified errors, a deep projection (two layers, learned
    with feedback alignment: its random feedback weights) into a rectified column, sparse
    priors, a clamp with its values and a hold."""
    c = Circuit(seed=1)
    c.sensory("x", 3, covariance=[[1.0, 0.2, 0.0], [0.2, 1.0, 0.1], [0.0, 0.1, 1.0]])
    c.column("z", 2, learn_covariance=True, errors="rectified", prior="cauchy", sparsity=0.3)
    c.column("top", 1, prior_mean=0.5, errors="rectified", prior="laplace", sparsity=0.2)
    c.connect("z", "x", np.arange(6.0).reshape(3, 2) / 6, bias=0.1, plastic=True, feedback="random")
    c.connect("top", "z", [[[1.0], [0.5], [-0.5]], [[1.0, 0.2, 0.0], [-1.0, 0.3, 0.4]]], activation=["tanh", "tanh"],
              bias=[0.1, -0.1], plastic=True, credit="feedback-alignment")
    c.attend("x", [1.0, 2.0, 0.5])
    c.encoder("z", source="x")
    c.clamp("top", [0.7])
    path = tmp_path / "model.npz"
    c.save(path)
    return path.read_bytes()


def _snapshot(directory) -> dict:
    """{relative path: (size, mtime, sha256)} of every file under ``directory``."""
    return {str(path.relative_to(directory)): (path.stat().st_size, path.stat().st_mtime_ns,
                                                hashlib.sha256(path.read_bytes()).hexdigest())
            for path in sorted(directory.rglob("*")) if path.is_file()}


def _contents(path) -> tuple:
    """What a model file holds (options and every array), to compare two loadable files."""
    options, _ = read(path)
    with np.load(path, allow_pickle=False) as data:
        return options, {key: data[key].tolist() for key in data.files}


def _assert_refused_or_identical(path, original_path):
    try:
        circuit = Circuit.load(path)
    except ValueError:
        return "refused"
    assert _contents(path) == _contents(original_path), "a damaged file loaded as a different circuit"
    assert list(circuit.columns) == ["x", "z", "top"]
    return "identical"


def test_truncated_files_are_refused(tmp_path):
    """Every prefix of the file, cut at every 97th byte, raises ValueError; nothing on disk
    changes (files, sizes, modification times, contents)."""
    good = _model_file(tmp_path)
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    for cut in range(0, len(good), 97):
        (damaged / f"cut{cut}.npz").write_bytes(good[:cut])
    before = _snapshot(tmp_path)
    for path in sorted(damaged.iterdir()):
        with pytest.raises(ValueError, match="model file"):
            Circuit.load(path)
    assert _snapshot(tmp_path) == before


def test_bit_flips_are_refused_or_harmless(tmp_path):
    """300 single-bit flips spread over the file: each either raises ValueError, or (a flip in
    bytes that carry no content, e.g. a zip timestamp) loads exactly the saved circuit."""
    good = _model_file(tmp_path)
    original = tmp_path / "model.npz"
    rng = np.random.default_rng(11)
    flipped = tmp_path / "flipped"
    flipped.mkdir()
    for k, position in enumerate(sorted(rng.choice(len(good), size=300, replace=False))):
        data = bytearray(good)
        data[position] ^= 1 << int(rng.integers(8))
        (flipped / f"flip{k:03d}_{position}.npz").write_bytes(bytes(data))
    before = _snapshot(tmp_path)
    outcomes = [_assert_refused_or_identical(path, original) for path in sorted(flipped.iterdir())]
    assert _snapshot(tmp_path) == before
    assert outcomes.count("refused") > 250   # CRC-32 guards every stored byte of the arrays


def _rewritten(tmp_path, name, change) -> object:
    """The model file with its entries changed by ``change(arrays, metadata)``."""
    _model_file(tmp_path)
    with np.load(tmp_path / "model.npz", allow_pickle=False) as data:
        arrays = {key: data[key] for key in data.files}
    metadata = json.loads(str(arrays.pop("metadata")))
    change(arrays, metadata)
    path = tmp_path / name
    np.savez(path, metadata=np.array(json.dumps(metadata)), **arrays)
    return path


@pytest.mark.parametrize("version, words", [(FORMAT_VERSION + 1, "newer than this version"), (0, "format version 0"),
                                            ("2", "format version '2'"), (None, "format version None")])
def test_wrong_versions_are_refused(version, words, tmp_path):
    path = _rewritten(tmp_path, "version.npz", lambda arrays, metadata: metadata.update(format_version=version))
    with pytest.raises(ValueError, match=words):
        Circuit.load(path)


def test_every_missing_key_is_refused(tmp_path):
    """Each array entry, each top-level metadata key and each key of the circuit and of every
    column, projection and encoder description, removed one at a time: ValueError naming the
    file, never a KeyError, a half-built circuit or one loaded with a default (in the current
    format every key is required; only files of earlier versions load without the keys they
    predate, see test_a_version_2_file_loads_as_a_rate_circuit_with_signed_errors)."""
    _model_file(tmp_path)
    with np.load(tmp_path / "model.npz", allow_pickle=False) as data:
        arrays = {key: data[key] for key in data.files if key != "metadata"}
        metadata = json.loads(str(data["metadata"]))
    removals = [("array", key) for key in arrays]
    removals += [("metadata", key) for key in metadata]
    removals += [(part, metadata[part].index(entry), key) for part in ("columns", "projections", "encoders")
                 for entry in metadata[part] for key in entry]
    removals += [("circuit", key) for key in metadata["circuit"]]
    for where, *key in removals:
        def change(arrays, metadata, where=where, key=key):
            if where == "array":
                del arrays[key[0]]
            elif where == "metadata":
                del metadata[key[0]]
            elif where == "circuit":
                del metadata["circuit"][key[0]]
            else:
                del metadata[where][key[0]][key[1]]
        path = _rewritten(tmp_path, "missing.npz", change)
        with pytest.raises(ValueError, match="missing.npz"):
            Circuit.load(path)


def test_a_version_2_file_loads_as_a_rate_circuit_with_signed_errors(tmp_path):
    """A file of format version 2 lacks the keys of version 3 (the circuit's neurons, a column's
    errors) and may lack those added during version 2 (a column's dynamics and attention flags):
    it loads as a rate circuit with signed errors, attention and dynamics read from its arrays,
    and runs as a circuit built with those options."""
    def version_2(arrays, metadata):
        metadata["format_version"] = 2
        del metadata["circuit"]["neurons"]
        for column in metadata["columns"]:
            for key in ("errors", "dynamics", "attended", "prior", "sparsity", "clamped", "held", "pinned"):
                del column[key]
        for part in ("projections", "encoders"):
            for entry in metadata[part]:
                for key in ("layers", "activations", "credit"):
                    del entry[key]
        for key in [key for key in arrays if "/weights/" in key or "/bias/" in key or "alignment" in key
                    or key.endswith("/pinned")]:
            del arrays[key]
        metadata["projections"][1]["activation"] = metadata["projections"][0]["activation"]
        arrays["projection/top/z/weights"] = np.array([[1.0], [-1.0]])
        arrays["projection/top/z/bias"] = np.zeros(2)
    loaded = Circuit.load(_rewritten(tmp_path, "version2.npz", version_2))
    assert loaded.graph.spiking is None and {c.errors for c in loaded.columns.values()} == {"signed"}
    assert loaded.columns["x"].attention.tolist() == [1.0, 2.0, 0.5]
    assert [p.layers for p in loaded.projections] == [1, 1] and not loaded.columns["top"].clamped
    assert {c.prior for c in loaded.columns.values()} == {"gaussian"}

    def version_3_with_those_options(arrays, metadata):   # every key, with the values version 2 implies
        version_2(arrays, metadata)
        metadata["format_version"], metadata["circuit"]["neurons"] = 3, "rate"
        for column in metadata["columns"]:
            column.update(errors="signed", dynamics=False, attended=column["name"] == "x", prior="gaussian",
                          sparsity=0.0, clamped=False, held=False, pinned=False)
        for entry in metadata["projections"] + metadata["encoders"]:
            entry.update(layers=1, activations=[entry["activation"]], credit="backprop")
    signed = Circuit.load(_rewritten(tmp_path, "signed.npz", version_3_with_those_options))
    stimulus = [1.0, 0.5, -0.5]
    np.testing.assert_array_equal(loaded.run(5 * ms, stimulus=stimulus).estimate["top"],
                                  signed.run(5 * ms, stimulus=stimulus).estimate["top"])


def test_random_bytes_and_other_files_name_the_real_problem(tmp_path):
    (tmp_path / "random.npz").write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(ValueError, match="not an .npz archive") as info:
        Circuit.load(tmp_path / "random.npz")
    assert "allow_pickle" not in str(info.value)
    np.save(tmp_path / "array.npy", np.ones(3))
    with pytest.raises(ValueError, match="not an .npz archive"):
        Circuit.load(tmp_path / "array.npy")
    np.savez(tmp_path / "other.npz", weights=np.ones(3))
    with pytest.raises(ValueError, match="no valid 'metadata' entry"):
        Circuit.load(tmp_path / "other.npz")
    with pytest.raises(FileNotFoundError, match="no such model file"):
        Circuit.load(tmp_path / "absent.npz")


class _Payload:
    """Unpickling this would create a file: a model file must never be unpickled."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_a_pickled_payload_is_never_unpickled(tmp_path):
    marker = tmp_path / "unpickled"
    _model_file(tmp_path)
    with np.load(tmp_path / "model.npz", allow_pickle=False) as data:
        arrays = {key: data[key] for key in data.files}
    arrays["column/x/covariance"] = np.array([_Payload(str(marker))], dtype=object)
    np.savez(tmp_path / "evil.npz", **arrays)
    with pytest.raises(ValueError, match="evil.npz"):
        Circuit.load(tmp_path / "evil.npz")
    assert not marker.exists()
    with zipfile.ZipFile(tmp_path / "evil.npz") as archive:   # the payload really is in the file
        assert b"unpickled" in archive.read("column/x/covariance.npy")
    assert not os.path.exists(marker)


def test_the_precision_is_saved_and_a_double_file_reads_as_before(tmp_path):
    """``precision="single"`` comes back from the file; the default is not written, so a
    double-precision file has the options that earlier releases read."""
    for precision in ("single", "double"):
        c = Circuit(device="cpp_standalone", precision=precision)
        c.sensory("x", 2)
        c.column("z", 1)
        c.connect("z", "x", [[1.0], [0.5]])
        c.save(tmp_path / f"{precision}.npz")
        loaded = Circuit.load(tmp_path / f"{precision}.npz")
        assert loaded.options["precision"] == precision and loaded.engine.precision == precision
        with zipfile.ZipFile(tmp_path / f"{precision}.npz") as archive:
            saved = json.loads(np.load(archive.open("metadata.npy")).item())["circuit"]
        assert ("precision" in saved) == (precision == "single")
