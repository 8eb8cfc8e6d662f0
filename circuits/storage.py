"""Saving and loading circuits: one ``.npz`` file with the arrays and a JSON description.

Format version 3. The file holds ``metadata`` (a JSON string: format version, the circuit's
options, columns, projections and encoders in creation order) and one array per weight, bias,
feedback matrix, covariance, flow, prior mean and attention gain, named after its column,
projection or encoder. Everything that changes what a run computes is saved: structure,
parameters (learned or not), learning options, attention gains (constant or a TimedArray),
time constants, dt, backend, engine (``device``, ``target``), batch size and the divergence
check. The dynamic state — μ, ε, interneuron activity and the simulated time — is **not**
saved: a loaded circuit starts at its initial state (time 0, estimates at the prior mean,
clamped and held columns at their values), as after :meth:`Circuit.reset`.

The file is read with ``allow_pickle=False`` (no code is ever unpickled) and checked entirely
before anything is built, so a bad file raises ``ValueError`` naming what is wrong and never
yields a half-built circuit. Version-1 files (before attention and engine options were saved)
still load, with default gains; version-2 files (one layer per projection, Gaussian priors, no
clamps) with their defaults.

Version 3 added deep projections and encoders (one array per layer, ``…/weights/k`` and
``…/bias/k``, the activations of every layer, the credit-assignment options and their random
feedback or learned inverse weights; a one-layer pathway keeps version 2's ``weights`` and
``bias``), sparse priors (``prior``, ``sparsity`` of each column), and clamps and fixed
predictions (:meth:`Circuit.clamp`, :meth:`Circuit.hold`: ``clamped`` and ``held`` of each
column, with the values it keeps in ``column/NAME/pinned``, (B, size) or (size,), absent while
it keeps its prior mean). A loaded circuit is the saved one after :meth:`Circuit.reset`, which
leaves clamped and held columns at their values. Every key version 3 added is optional when
reading, so files that carry only some of them load too.
"""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
from brian2 import TimedArray, second

from populations import Activation

from .stimulus import clamp_values

__all__ = ["FORMAT_VERSION", "read", "save"]

FORMAT = "predictive-circuits"
FORMAT_VERSION = 3


def _activation(activation: Activation) -> list:
    return [activation.rate_expression, activation.gain_expression, activation.name]


def _save_layers(dendrite, key: str, arrays: dict) -> dict:
    """The layers of a pathway: its metadata entries, and its arrays written into ``arrays``
    (one layer keeps version 2's ``weights`` and ``bias`` names)."""
    entry = {"layers": dendrite.layers, "activations": [_activation(f) for f in dendrite.activations],
             "credit": dendrite.credit}
    if dendrite.layers == 1:
        return entry
    for kind, values in (("weights", dendrite.weights), ("bias", dendrite.biases),
                         ("alignment_weights", dendrite.alignment_weights or []),
                         ("inverse_weights", dendrite.inverse_weights or []),
                         ("inverse_biases", dendrite.inverse_biases or [])):
        for k, value in enumerate(values):
            arrays[f"{key}/{kind}/{k}"] = value
    if dendrite.credit == "target-prop":
        entry.update(target_step=dendrite.target_step, inverse_learning_rates=dendrite.inverse_learning_rates,
                     inverse_noise=dendrite.inverse_noise)
    return entry


def _read_layers(entry: dict, key: str, arrays: dict) -> dict:
    """Keyword arguments of connect/encoder for the layers saved by :func:`_save_layers`."""
    layers = entry.get("layers", 1)
    if layers == 1:
        return {"weights": arrays[f"{key}/weights"], "bias": arrays[f"{key}/bias"],
                "activation": Activation(*entry["activation"])}
    options = {"weights": [arrays[f"{key}/weights/{k}"] for k in range(layers)],
               "bias": [arrays[f"{key}/bias/{k}"] for k in range(layers)],
               "activation": [Activation(*a) for a in entry["activations"]], "credit": entry["credit"]}
    if "inverse_noise" in entry:
        options["inverse_noise"] = entry["inverse_noise"]
    return options


def _restore_credit(dendrite, entry: dict, key: str, arrays: dict):
    """The learned or drawn credit-assignment weights saved by :func:`_save_layers`."""
    if "inverse_learning_rates" in entry:
        dendrite.inverse_learning_rates = list(entry["inverse_learning_rates"])
    for kind in ("alignment_weights", "inverse_weights", "inverse_biases"):
        for k, live in enumerate(getattr(dendrite, kind) or []):
            live[:] = arrays[f"{key}/{kind}/{k}"]


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
                        "clamped": column.clamped and not column.sensory, "held": column.held,
                        "attention_dt": None if isinstance(attention, np.ndarray) else float(attention.dt)})
        pinned = column.pinned_values
        if pinned is not None:   # (B, size) with a batch, as clamp() takes them
            arrays[f"{key}/pinned"] = pinned if options.get("batch_size") is None else pinned.reshape(
                options["batch_size"], column.size)
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
                            "feedback": projection.feedback, **_save_layers(projection.dendrite, key, arrays)})
        if projection.layers == 1:
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
                         "read_duration": float(encoder.read_steps * graph.timing.dt),
                         **_save_layers(encoder.dendrite, key, arrays)})
        if encoder.layers == 1:
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
            _populate(graph, columns, projections, encoders, arrays, options.get("batch_size"))
        except (KeyError, TypeError, ValueError, IndexError) as error:
            raise ValueError(f"{path}: corrupt or inconsistent model file: {error!r}") from None

    return options, populate


def _populate(graph, columns, projections, encoders, arrays, batch_size):
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
        if column.get("clamped") or column.get("held"):
            pinned = arrays.get(f"{key}/pinned")
            pinned = None if pinned is None else clamp_values(pinned, added, batch_size)
            if column.get("clamped"):
                added.clamp(pinned)
            else:
                added.hold(pinned)
    for p in projections:
        key = f"projection/{p['upper']}/{p['lower']}"
        layers = _read_layers(p, key, arrays)
        if "target_step" in p:
            layers["target_step"] = p["target_step"]
        projection = graph.connect(p["upper"], p["lower"], backend=p["backend"], plastic=p["plastic"],
                                   learning_rate=p["learning_rate"], weight_decay=p["weight_decay"],
                                   learn_bias=p["learn_bias"], feedback=p["feedback"],
                                   feedback_weights=arrays.get(f"{key}/feedback_weights"), **layers)
        _restore_credit(projection.dendrite, p, key, arrays)
    for e in encoders:
        key = f"encoder/{e['target']}"
        encoder = graph.encoder(e["target"], e["source"], plastic=e["plastic"],
                                learning_rate=e["learning_rate"], iterations=e["iterations"],
                                update_gain=e["update_gain"], update_learning_rate=e["update_learning_rate"],
                                read_duration=e["read_duration"] * second, **_read_layers(e, key, arrays))
        _restore_credit(encoder.dendrite, e, key, arrays)
        for name in encoder.update_weights:
            encoder.update_weights[name][:] = arrays[f"{key}/update/{name}"]
