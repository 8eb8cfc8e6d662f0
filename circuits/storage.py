"""Saving and loading circuits: one ``.npz`` file with the arrays and a JSON description.

Format version 3. The file holds ``metadata`` (a JSON string: format version, the circuit's
options, columns, projections and encoders in creation order) and one array per weight, bias,
feedback matrix, covariance, flow, prior mean and attention gain, named after its column,
projection or encoder. Everything that changes what a run computes is saved: structure,
parameters (learned or not), learning options, attention gains (constant or a TimedArray),
time constants, dt, backend, engine (``device``, ``target``), batch size, the divergence
check, the neurons (rate, or the spiking populations' parameters), each column's errors
(signed or rectified), prior (Gaussian, or sparse with its α) and clamps. The dynamic state —
μ, ε, interneuron activity and the simulated time — is **not** saved: a loaded circuit starts
at its initial state (time 0, estimates at the prior mean, clamped and held columns at their
values), as after :meth:`Circuit.reset`.

Version 3 holds, besides version 2: the circuit's ``device`` and ``neurons``; each column's
``order``, ``smoothness``, ``flat_prior``, ``dynamics`` and ``attended`` flags,
``attention_dt``, ``errors``, ``prior``, ``sparsity``, ``clamped``, ``held`` and ``pinned``
(whether ``column/NAME/pinned`` holds the values a clamped or held column keeps, (B, size) or
(size,); without it the column keeps its prior mean); each projection's and encoder's
``layers``, the ``activations`` of every layer and its ``credit`` assignment (with
``target_step``, ``inverse_learning_rates`` and ``inverse_noise`` for target propagation),
the arrays of a deep pathway (``…/weights/k``, ``…/bias/k``, its random feedback or learned
inverse weights; a one-layer pathway keeps version 2's ``weights`` and ``bias``).

The file is read with ``allow_pickle=False`` (no code is ever unpickled) and checked entirely
before anything is built — the archive, the format version, every key each description must
have (``_REQUIRED``, and for version 3 ``_REQUIRED_SINCE_3``), every array it refers to — so a
bad file (truncated, bit-flipped, from a newer version, missing an entry) raises
``ValueError`` naming what is wrong, never yields a half-built or silently different circuit,
and nothing is written. Version-1 files (before attention and engine options were saved) still
load, with default gains, and version-2 files with rate neurons, signed errors, one layer per
projection, Gaussian priors and no clamps (and, where they lack them, the order, dynamics and
attention flags inferred from their arrays).
"""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
from brian2 import TimedArray, second

from populations import Activation

from .spiking import Spiking
from .stimulus import clamp_values

__all__ = ["FORMAT_VERSION", "read", "save"]

FORMAT = "predictive-circuits"
FORMAT_VERSION = 3


def _activation(activation: Activation) -> list:
    return [activation.rate_expression, activation.gain_expression, activation.name]


def _save_layers(pathway, key: str, arrays: dict) -> dict:
    """The layers of a pathway (a projection or an encoder): its metadata entries, and its
    arrays written into ``arrays`` (one layer keeps version 2's ``weights`` and ``bias`` names)."""
    dendrite = pathway.dendrite
    entry = {"layers": dendrite.layers, "activations": [_activation(f) for f in dendrite.activations],
             "credit": dendrite.credit}
    if dendrite.layers == 1:
        arrays[f"{key}/weights"] = pathway.weights
        arrays[f"{key}/bias"] = pathway.bias
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
                        "flat_prior": column.flat_prior, "dynamics": column.dynamics is not None,
                        "attended": not isinstance(attention, np.ndarray) or bool(np.any(attention != 1)),
                        "errors": column.errors, "prior": column.prior, "sparsity": column.sparsity,
                        "clamped": column.clamped and not column.sensory, "held": column.held,
                        "pinned": column.pinned_values is not None,
                        "attention_dt": None if isinstance(attention, np.ndarray) else float(attention.dt)})
        pinned = column.pinned_values
        if pinned is not None:   # (B, size) with a batch, as clamp() takes them
            arrays[f"{key}/pinned"] = pinned if options.get("batch_size") is None else pinned.reshape(
                options["batch_size"], column.size)
        arrays[f"{key}/covariance"] = column.state_covariance
        arrays[f"{key}/prior_mean"] = column.prior_mean[:column.state_size]
        if columns[-1]["attended"]:   # (gain 1 everywhere: no attention)
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
                            "feedback": projection.feedback, **_save_layers(projection, key, arrays)})
        if projection.feedback != "tied":
            arrays[f"{key}/feedback_weights"] = projection.feedback_weights
    for encoder in graph.encoders.values():
        key = f"encoder/{encoder.target.name}"
        encoders.append({"target": encoder.target.name, "source": encoder.source.name,
                         "activation": _activation(encoder.activation), "plastic": encoder.plastic,
                         "learning_rate": encoder.learning_rate, "iterations": encoder.iterations,
                         "update_gain": encoder.update_gain, "update_learning_rate": encoder.update_learning_rate,
                         "read_duration": float(encoder.read_steps * graph.timing.dt),
                         **_save_layers(encoder, key, arrays)})
        for name, weights in encoder.update_weights.items():
            arrays[f"{key}/update/{name}"] = weights
    circuit = {name: float(value) if name in _TIMES and value is not None else value for name, value in options.items()}
    if isinstance(circuit.get("neurons"), Spiking):
        circuit["neurons"] = circuit["neurons"].options()
    if circuit.get("precision") == "double":   # the default: a file that earlier releases read too
        del circuit["precision"]
    metadata = {"format": FORMAT, "format_version": FORMAT_VERSION, "circuit": circuit,
                "columns": columns, "projections": projections, "encoders": encoders}
    with open(path, "wb") as handle:
        np.savez(handle, metadata=np.array(json.dumps(metadata)), **arrays)


#: Circuit options that are times (stored in seconds).
_TIMES = ("dt", "tau_estimate", "tau_error", "check_interval")

#: The keys every description must have in every format version (files of versions 1 and 2
#: may lack the others, which then load with a default: a circuit's device and rate neurons; a
#: column's order, smoothness, flat prior, dynamics and attention flags, signed errors; the
#: list of encoders).
_REQUIRED = {
    "metadata": ("circuit", "columns", "projections"),
    "circuit": (*_TIMES, "backend", "target", "divergence_threshold", "seed", "batch_size"),
    "column": ("name", "sensory", "size", "learn_covariance", "covariance_learning_rate", "min_variance", "flow",
               "learn_flow", "flow_learning_rate", "flow_radius", "flow_grid"),
    "projection": ("upper", "lower", "activation", "backend", "plastic", "learning_rate", "weight_decay",
                   "learn_bias", "feedback"),
    "encoder": ("target", "source", "activation", "plastic", "learning_rate", "iterations", "update_gain",
                "update_learning_rate", "read_duration"),
}

#: The keys that files of format version 3 must have besides :data:`_REQUIRED` (every key
#: :func:`save` writes: a version-3 file without one is damaged, not old; a column's
#: ``pinned`` says whether its ``pinned`` array must be there).
_REQUIRED_SINCE_3 = {
    "metadata": ("encoders",),
    "circuit": ("device", "neurons"),
    "column": ("order", "smoothness", "flat_prior", "dynamics", "attended", "attention_dt", "errors", "prior",
               "sparsity", "clamped", "held", "pinned"),
    "projection": ("layers", "activations", "credit"),
    "encoder": ("layers", "activations", "credit"),
}

#: The keys a version-3 pathway (projection or encoder) must have for its ``credit``.
_REQUIRED_FOR_CREDIT = {"target-prop": ("target_step", "inverse_learning_rates", "inverse_noise")}


def _complete(description, part: str, version: int) -> dict:
    """``description`` if it is a dict with every key of ``part`` that a file of format
    ``version`` must have."""
    if not isinstance(description, dict):
        raise ValueError(f"a {part} description is {type(description).__name__}, not a JSON object")
    required = _REQUIRED[part] + (_REQUIRED_SINCE_3.get(part, ()) if version >= 3 else ())
    if version >= 3 and part in ("projection", "encoder"):
        required += _REQUIRED_FOR_CREDIT.get(description.get("credit"), ())
    missing = [key for key in required if key not in description]
    if missing:
        raise ValueError(f"a {part} description lacks {missing}")
    return description


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
    except Exception as error:  # noqa: BLE001 -- a damaged archive fails in many ways (CRC, header syntax, …)
        raise ValueError(f"{path}: not a readable predictive-circuits model file, damaged or truncated "
                         f"({type(error).__name__}: {error})") from None
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
        _complete(metadata, "metadata", version)
        options = dict(_complete(metadata["circuit"], "circuit", version))
        for name in _TIMES:
            options[name] = options[name] * second
        options.setdefault("device", "runtime")
        if isinstance(options.get("neurons"), dict):
            options["neurons"] = Spiking.from_options(options["neurons"])
        unknown = set(options) - {*_TIMES, "backend", "target", "divergence_threshold", "seed", "batch_size", "device",
                                  "neurons", "precision"}
        if unknown:
            raise ValueError(f"unknown circuit options {sorted(unknown)}")
        columns = [_complete(column, "column", version) for column in metadata["columns"]]
        projections = [_complete(projection, "projection", version) for projection in metadata["projections"]]
        encoders = [_complete(encoder, "encoder", version) for encoder in metadata.get("encoders", [])]
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
                       min_variance=column["min_variance"], errors=column.get("errors", "signed"))
        if column["flow"]:
            options.update(lateral_inhibition=column["flow"], learn_inhibition=column["learn_flow"],
                           inhibition_learning_rate=column["flow_learning_rate"],
                           inhibition_radius=column["flow_radius"], inhibition_grid=column["flow_grid"])
        if column.get("order", 1) > 1:
            options.update(order=column["order"], smoothness=column["smoothness"])
        if not column["sensory"]:
            has_dynamics = column.get("dynamics", f"{key}/dynamics" in arrays)   # (version-2 files may lack it)
            options.update(flat_prior=column.get("flat_prior", False),
                           dynamics=arrays[f"{key}/dynamics"] if has_dynamics else None,
                           prior=column.get("prior", "gaussian"), sparsity=column.get("sparsity", 0.0) or 1.0)
        add = graph.sensory if column["sensory"] else graph.column
        added = add(column["name"], column["size"], **options)
        if column["flow"]:
            added.flow_matrix[:] = arrays[f"{key}/flow_matrix"]
            if added.lateral is not None and column["flow"] != "surround":
                added.lateral[:] = added.flow_matrix - np.diag(np.diag(added.flow_matrix))
        if column.get("attended", f"{key}/attention" in arrays):
            gain = arrays[f"{key}/attention"]
            dt = column.get("attention_dt")
            added.attend(gain if dt is None else TimedArray(gain, dt=dt * second))
        if column.get("clamped") or column.get("held"):   # (version 3 only)
            pinned = clamp_values(arrays[f"{key}/pinned"], added, batch_size) if column["pinned"] else None
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
                                   feedback_weights=None if p["feedback"] == "tied" else arrays[f"{key}/feedback_weights"],
                                   **layers)
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
