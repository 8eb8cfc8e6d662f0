"""Saving and loading circuits: one ``.npz`` file with the arrays and a JSON description.

Format version 1. The file holds ``metadata`` (a JSON string: format version, circuit
parameters, columns and projections in creation order) and one array per weight, bias,
feedback matrix, covariance and prior mean, named after its column or projection. Loading
checks everything before building, so a bad file raises ``ValueError`` and never yields a
half-built circuit.
"""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
from brian2 import second

FORMAT = "predictive-circuits"
FORMAT_VERSION = 1

__all__ = ["save", "load", "FORMAT_VERSION"]


def save(circuit, path):
    """Write ``circuit``'s structure and parameters (not its current rates) to ``path``."""
    arrays, columns, projections = {}, [], []
    for column in circuit.columns.values():
        columns.append({"name": column.name, "sensory": column.sensory,
                        "learn_covariance": column.learn_covariance,
                        "covariance_learning_rate": column.covariance_learning_rate,
                        "min_variance": column.min_variance, "flow": column.flow,
                        "learn_flow": column.learn_flow, "flow_learning_rate": column.flow_learning_rate,
                        "flow_radius": column.flow_radius, "flow_grid": column.flow_grid,
                        "size": column.state_size, "order": column.order, "smoothness": column.smoothness,
                        "flat_prior": column.flat_prior})
        arrays[f"column/{column.name}/covariance"] = column.state_covariance
        if column.dynamics is not None:
            arrays[f"column/{column.name}/dynamics"] = column.dynamics
        if column.flow:
            arrays[f"column/{column.name}/flow_matrix"] = column.flow_matrix
        arrays[f"column/{column.name}/prior_mean"] = column.prior_mean[:column.state_size]
    for projection in circuit.projections:
        key = f"projection/{projection.upper.name}/{projection.lower.name}"
        activation = projection.activation
        projections.append({"upper": projection.upper.name, "lower": projection.lower.name,
                            "activation": [activation.rate_expression, activation.gain_expression,
                                           activation.name],
                            "backend": projection.backend, "plastic": projection.plastic,
                            "learning_rate": projection.learning_rate,
                            "weight_decay": projection.weight_decay, "learn_bias": projection.learn_bias,
                            "feedback": projection.feedback})
        arrays[f"{key}/weights"] = projection._weights
        arrays[f"{key}/bias"] = projection.bias
        if projection.feedback != "tied":
            arrays[f"{key}/feedback_weights"] = projection._feedback
    encoders = []
    for encoder in circuit.encoders.values():
        key = f"encoder/{encoder.target.name}"
        activation = encoder.activation
        encoders.append({"target": encoder.target.name, "source": encoder.source.name,
                         "activation": [activation.rate_expression, activation.gain_expression, activation.name],
                         "plastic": encoder.plastic, "learning_rate": encoder.learning_rate,
                         "iterations": encoder.iterations, "update_gain": encoder.update_gain,
                         "update_learning_rate": encoder.update_learning_rate,
                         "read_duration": float(encoder.read_steps * circuit.dt)})
        arrays[f"{key}/weights"] = encoder.weights
        arrays[f"{key}/bias"] = encoder.bias
        for name, weights in encoder.update_weights.items():
            arrays[f"{key}/update/{name}"] = weights
    metadata = {"format": FORMAT, "format_version": FORMAT_VERSION,
                "circuit": {"dt": float(circuit.dt), "tau_estimate": float(circuit.tau_estimate),
                            "tau_error": float(circuit.tau_error), "backend": circuit.backend,
                            "target": circuit.target, "divergence_threshold": circuit.divergence_threshold,
                            "check_interval": float(circuit.check_interval), "seed": circuit.seed,
                            "batch_size": circuit.batch_size},
                "columns": columns, "projections": projections, "encoders": encoders}
    with open(path, "wb") as handle:
        np.savez(handle, metadata=np.array(json.dumps(metadata)), **arrays)


def load(path):
    """The circuit stored in ``path`` (built afresh, at its initial state)."""
    from populations import Activation

    from .circuit import Circuit

    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
    except FileNotFoundError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
        raise ValueError(f"{path}: not a predictive-circuits model file ({error})") from None
    try:
        metadata = json.loads(str(arrays.pop("metadata")))
    except (KeyError, json.JSONDecodeError) as error:
        raise ValueError(f"{path}: no valid 'metadata' entry ({error}); was it written by Circuit.save?") from None
    if metadata.get("format") != FORMAT:
        raise ValueError(f"{path}: not a predictive-circuits model file (format {metadata.get('format')!r})")
    version = metadata.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ValueError(f"{path}: written in format version {version}, newer than this version of "
                         f"predictive-circuits reads ({FORMAT_VERSION}); upgrade the package")
    try:
        spec = metadata["circuit"]
        circuit = Circuit(dt=spec["dt"] * second, tau_estimate=spec["tau_estimate"] * second,
                          tau_error=spec["tau_error"] * second, backend=spec["backend"],
                          target=spec["target"], divergence_threshold=spec["divergence_threshold"],
                          check_interval=spec["check_interval"] * second, seed=spec["seed"],
                          batch_size=spec.get("batch_size"))
        for column in metadata["columns"]:
            key = f"column/{column['name']}"
            options = dict(covariance=arrays[f"{key}/covariance"], prior_mean=arrays[f"{key}/prior_mean"],
                           learn_covariance=column["learn_covariance"],
                           covariance_learning_rate=column["covariance_learning_rate"],
                           min_variance=column["min_variance"])
            if column["flow"]:
                options.update(lateral_inhibition=column["flow"], learn_inhibition=column["learn_flow"],
                               inhibition_learning_rate=column["flow_learning_rate"],
                               inhibition_radius=column["flow_radius"],
                               inhibition_grid=column["flow_grid"])
            if column.get("order", 1) > 1:
                options.update(order=column["order"], smoothness=column["smoothness"])
            if not column["sensory"]:
                options.update(flat_prior=column.get("flat_prior", False),
                               dynamics=arrays.get(f"{key}/dynamics"))
            add = circuit.sensory if column["sensory"] else circuit.column
            added = add(column["name"], column["size"], **options)
            if column["flow"]:
                added.flow_matrix[:] = arrays[f"{key}/flow_matrix"]
        for p in metadata["projections"]:
            key = f"projection/{p['upper']}/{p['lower']}"
            circuit.connect(p["upper"], p["lower"], weights=arrays[f"{key}/weights"],
                            activation=Activation(*p["activation"]), bias=arrays[f"{key}/bias"],
                            backend=p["backend"], plastic=p["plastic"], learning_rate=p["learning_rate"],
                            weight_decay=p["weight_decay"], learn_bias=p["learn_bias"],
                            feedback=p["feedback"], feedback_weights=arrays.get(f"{key}/feedback_weights"))
        for e in metadata.get("encoders", []):
            key = f"encoder/{e['target']}"
            encoder = circuit.encoder(e["target"], e["source"], weights=arrays[f"{key}/weights"],
                                      bias=arrays[f"{key}/bias"], activation=Activation(*e["activation"]),
                                      plastic=e["plastic"], learning_rate=e["learning_rate"],
                                      iterations=e["iterations"], update_gain=e["update_gain"],
                                      update_learning_rate=e["update_learning_rate"],
                                      read_duration=e["read_duration"] * second)
            for name in encoder.update_weights:
                encoder.update_weights[name][:] = arrays[f"{key}/update/{name}"]
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"{path}: corrupt or inconsistent model file: {error!r}") from None
    return circuit
