"""Saving and loading circuits: one ``.npz`` file with the arrays and a JSON description.

Format version 3. The file holds ``metadata`` (a JSON string: format version, the circuit's
options, columns, projections and encoders in creation order) and one array per weight, bias,
feedback matrix, covariance, flow, prior mean and attention gain, named after its column,
projection or encoder. Everything that changes what a run computes is saved: structure,
parameters (learned or not), learning options, attention gains (constant or a TimedArray),
time constants, dt, backend, engine (``device``, ``target``), batch size and the divergence
check. The dynamic state — μ, ε, interneuron activity and the simulated time — is **not**
saved: a loaded circuit starts at its initial state (time 0, estimates at the prior mean),
as after :meth:`Circuit.reset`.

The file is read with ``allow_pickle=False`` (no code is ever unpickled) and checked entirely
before anything is built, so a bad file raises ``ValueError`` naming what is wrong and never
yields a half-built circuit. Version-1 files (before attention and engine options were saved)
still load, with default gains; version-2 files (before sparse priors) with Gaussian priors.
Clamps (:meth:`Circuit.clamp`) are part of the dynamic state and are not saved.
"""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
from brian2 import TimedArray, second

from populations import Activation

__all__ = ["FORMAT_VERSION", "read", "save"]

FORMAT = "predictive-circuits"
FORMAT_VERSION = 3


def _activation(activation: Activation) -> list:
    return [activation.rate_expression, activation.gain_expression, activation.name]


def save(graph, options: dict, path):
    """Write ``graph`` and the circuit ``options`` (those of ``Circuit(...)``) to ``path``."""
    arrays, columns, projections, encoders = {}, [], [], []
    for column in graph.columns.values():
        key = f"column/{column.name}"
        attention = column.attention
        columns.append({"name": column.name, "sensory": column.sensory, "size": column.state_size,
                        "learn_covariance": column.learn_covariance,
                        "covariance_learning_rate": column.covariance_learning_rate,
                        "min_variance": column.min_variance, "flow": column.flow, "learn_flow": column.learn_flow,
                        "flow_learning_rate": column.flow_learning_rate, "flow_radius": column.flow_radius,
                        "flow_grid": column.flow_grid, "order": column.order, "smoothness": column.smoothness,
                        "flat_prior": column.flat_prior, "prior": column.prior, "sparsity": column.sparsity,
                        "attention_dt": None if isinstance(attention, np.ndarray) else float(attention.dt)})
        arrays[f"{key}/covariance"] = column.state_covariance
        arrays[f"{key}/prior_mean"] = column.prior_mean[:column.state_size]
        if not isinstance(attention, np.ndarray) or np.any(attention != 1):   # attended (1: no attention)
            arrays[f"{key}/attention"] = np.asarray(attention if isinstance(attention, np.ndarray) else attention.values)
        if column.dynamics is not None:
            arrays[f"{key}/dynamics"] = column.dynamics
        if column.flow:
            arrays[f"{key}/flow_matrix"] = column.flow_matrix
    for projection in graph.projections:
        key = f"projection/{projection.upper.name}/{projection.lower.name}"
        projections.append({"upper": projection.upper.name, "lower": projection.lower.name,
                            "activation": _activation(projection.activation), "backend": projection.backend,
                            "plastic": projection.plastic, "learning_rate": projection.learning_rate,
                            "weight_decay": projection.weight_decay, "learn_bias": projection.learn_bias,
                            "feedback": projection.feedback})
        arrays[f"{key}/weights"] = projection.weights
        arrays[f"{key}/bias"] = projection.bias
        if projection.feedback != "tied":
            arrays[f"{key}/feedback_weights"] = projection.feedback_weights
    for encoder in graph.encoders.values():
        key = f"encoder/{encoder.target.name}"
        encoders.append({"target": encoder.target.name, "source": encoder.source.name,
                         "activation": _activation(encoder.activation), "plastic": encoder.plastic,
                         "learning_rate": encoder.learning_rate, "iterations": encoder.iterations,
                         "update_gain": encoder.update_gain, "update_learning_rate": encoder.update_learning_rate,
                         "read_duration": float(encoder.read_steps * graph.timing.dt)})
        arrays[f"{key}/weights"] = encoder.weights
        arrays[f"{key}/bias"] = encoder.bias
        for name, weights in encoder.update_weights.items():
            arrays[f"{key}/update/{name}"] = weights
    circuit = {name: float(value) if name in _TIMES and value is not None else value for name, value in options.items()}
    metadata = {"format": FORMAT, "format_version": FORMAT_VERSION, "circuit": circuit,
                "columns": columns, "projections": projections, "encoders": encoders}
    with open(path, "wb") as handle:
        np.savez(handle, metadata=np.array(json.dumps(metadata)), **arrays)


#: Circuit options that are times (stored in seconds).
_TIMES = ("dt", "tau_estimate", "tau_error", "check_interval")


def read(path):
    """(options, populate) from a file written by :func:`save`: ``Circuit(**options)`` makes
    the circuit and ``populate(circuit.graph)`` adds its columns, projections and encoders."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such model file")
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{path}: not a predictive-circuits model file (it is not an .npz archive, as "
                         f"Circuit.save writes; it may be truncated or another kind of file)")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, KeyError) as error:
        raise ValueError(f"{path}: not a readable predictive-circuits model file ({error})") from None
    try:
        metadata = json.loads(str(arrays.pop("metadata")))
    except (KeyError, json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: no valid 'metadata' entry ({error!r}); was it written by Circuit.save?") from None
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT:
        raise ValueError(f"{path}: not a predictive-circuits model file (its metadata names no "
                         f"{FORMAT!r} format)")
    version = metadata.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ValueError(f"{path}: corrupt model file: format version {version!r} is not a positive integer")
    if version > FORMAT_VERSION:
        raise ValueError(f"{path}: written in format version {version}, newer than this version of "
                         f"predictive-circuits reads ({FORMAT_VERSION}); upgrade the package")
    try:
        options = dict(metadata["circuit"])
        for name in _TIMES:
            options[name] = options[name] * second
        options.setdefault("device", "runtime")
        unknown = set(options) - {*_TIMES, "backend", "target", "divergence_threshold", "seed", "batch_size", "device"}
        if unknown:
            raise ValueError(f"unknown circuit options {sorted(unknown)}")
        columns, projections = list(metadata["columns"]), list(metadata["projections"])
        encoders = list(metadata.get("encoders", []))
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"{path}: corrupt or inconsistent model file: {error!r}") from None

    def populate(graph):
        try:
            _populate(graph, columns, projections, encoders, arrays)
        except (KeyError, TypeError, ValueError, IndexError) as error:
            raise ValueError(f"{path}: corrupt or inconsistent model file: {error!r}") from None

    return options, populate


def _populate(graph, columns, projections, encoders, arrays):
    for column in columns:
        key = f"column/{column['name']}"
        options = dict(covariance=arrays[f"{key}/covariance"], prior_mean=arrays[f"{key}/prior_mean"],
                       learn_covariance=column["learn_covariance"],
                       covariance_learning_rate=column["covariance_learning_rate"],
                       min_variance=column["min_variance"])
        if column["flow"]:
            options.update(lateral_inhibition=column["flow"], learn_inhibition=column["learn_flow"],
                           inhibition_learning_rate=column["flow_learning_rate"],
                           inhibition_radius=column["flow_radius"], inhibition_grid=column["flow_grid"])
        if column.get("order", 1) > 1:
            options.update(order=column["order"], smoothness=column["smoothness"])
        if not column["sensory"]:
            options.update(flat_prior=column.get("flat_prior", False), dynamics=arrays.get(f"{key}/dynamics"),
                           prior=column.get("prior", "gaussian"), sparsity=column.get("sparsity", 0.0) or 1.0)
        add = graph.sensory if column["sensory"] else graph.column
        added = add(column["name"], column["size"], **options)
        if column["flow"]:
            added.flow_matrix[:] = arrays[f"{key}/flow_matrix"]
            if added.lateral is not None and column["flow"] != "surround":
                added.lateral[:] = added.flow_matrix - np.diag(np.diag(added.flow_matrix))
        if f"{key}/attention" in arrays:
            gain = arrays[f"{key}/attention"]
            dt = column.get("attention_dt")
            added.attend(gain if dt is None else TimedArray(gain, dt=dt * second))
    for p in projections:
        key = f"projection/{p['upper']}/{p['lower']}"
        graph.connect(p["upper"], p["lower"], weights=arrays[f"{key}/weights"],
                      activation=Activation(*p["activation"]), bias=arrays[f"{key}/bias"], backend=p["backend"],
                      plastic=p["plastic"], learning_rate=p["learning_rate"], weight_decay=p["weight_decay"],
                      learn_bias=p["learn_bias"], feedback=p["feedback"],
                      feedback_weights=arrays.get(f"{key}/feedback_weights"))
    for e in encoders:
        key = f"encoder/{e['target']}"
        encoder = graph.encoder(e["target"], e["source"], weights=arrays[f"{key}/weights"], bias=arrays[f"{key}/bias"],
                                activation=Activation(*e["activation"]), plastic=e["plastic"],
                                learning_rate=e["learning_rate"], iterations=e["iterations"],
                                update_gain=e["update_gain"], update_learning_rate=e["update_learning_rate"],
                                read_duration=e["read_duration"] * second)
        for name in encoder.update_weights:
            encoder.update_weights[name][:] = arrays[f"{key}/update/{name}"]
