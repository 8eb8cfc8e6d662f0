"""Learning within the neuron: a deep dendritic projection learns a 2-layer teacher.

Data: x = W₂ tanh(W₁ z + b₁) + b₂ + noise, z ~ N(0, I₂), 16 hidden units, 8 outputs, noise
standard deviation σ = 0.05 (2,000 training and 500 held-out samples). Four students, all with
a latent column z (prior N(0, I)) predicting the data, learn from the same items (batches of
100) in one circuit:

- three deep projections z → 32 compartments (tanh) → x, the hidden layer learning by
  ``credit="backprop"``, ``"feedback-alignment"`` or ``"target-prop"``;
- a one-layer projection x = W tanh(z) + b.

The teacher itself is a fifth, fixed pathway of the same circuit. Each item settles from the
prior mean; at its end every layer learns by its local rule at a sample of the Laplace q around
the settled estimates (``learn_at="laplace"``, variational EM: learning at the MAP itself lets
the decoder grow and its latents shrink, which stiffens inference without bound); the learning
rates fall to 30 % for the last 30 % of the updates. After training, each pathway infers the
held-out data and its free energy at the settled estimates (the negative log joint at the MAP,
in nats per sample) is compared.

Units: the data are presented in units of the noise (x/σ), so that Σ_x = I. The circuit's
error neurons relax at the rate Σ/τ_ε (Bogacz 2017's form, τ_ε dε/dt = μ − g − Σ ε): with
Σ = σ² = 0.0025 they would need 400 τ_ε per e-fold. The free energies are reported in the
data's own units, F = F(x/σ) + 8 log σ. In noise units the output layer's weights are 1/σ
larger than the hidden layer's, so the two layers learn at separate rates (learning_rate
per layer).
"""
from __future__ import annotations

import numpy as np
from brian2 import ms
from matplotlib.figure import Figure

from ..circuit import Circuit
from ..energy import free_energy_by_level
from ..sweeps import Output
from . import style
from .duration import check_duration
from .outcome import Outcome

NAME = "deep-teacher"
DESCRIPTION = ("a deep dendritic projection learns a 2-layer teacher (2 → 16 tanh → 8, noise 0.05) by "
               "backprop, feedback alignment and target propagation within the neuron, vs a one-layer "
               "projection; held-out free energies")
LATENT, HIDDEN, OUTPUT, NOISE = 2, 16, 8, 0.05
STUDENT_HIDDEN = 32
TRAIN, TEST, BATCH = 2000, 500, 100
ITEM, TEST_ITEM = 30 * ms, 100 * ms
DEFAULT_DURATION = 1000 * ITEM   # 1,000 updates (50 passes through the training set)
CHECKPOINTS = 10
DURATION_STEP, MINIMUM_DURATION = ITEM, CHECKPOINTS * ITEM   # one update per item; one per checkpoint
ANNEALING = 0.7, 0.3   # from 70 % of the updates on, learning rates × 0.3
PARAMETERS = ()        # seeds only: each draws the teacher, the data and the students' weights
OUTPUTS = tuple(Output(f"free_energy_{key.replace('-', '_')}", (), "nat",
                       f"held-out free energy per sample of the {key} pathway", key=f"held_out_free_energy/{key}")
                for key in ("teacher", "backprop", "feedback-alignment", "target-prop", "one-layer"))

#: How each student learns: learning rates [hidden layer, output layer] in noise units.
STUDENTS = {
    "backprop": dict(credit="backprop", learning_rate=[1e-3, 0.2]),
    "feedback-alignment": dict(credit="feedback-alignment", learning_rate=[1e-3, 0.2]),
    "target-prop": dict(credit="target-prop", learning_rate=[0.01, 0.2], inverse_learning_rate=2e-4,
                        inverse_noise=0.5),
    "one-layer": dict(learning_rate=0.2),
}


def teacher(seed: int) -> tuple[list, list]:
    """(weights [W₁, W₂], biases [b₁, b₂]) of the teacher."""
    rng = np.random.default_rng(seed)
    return ([rng.normal(size=(HIDDEN, LATENT)) * 0.5, rng.normal(size=(OUTPUT, HIDDEN)) / 4],
            [rng.normal(size=HIDDEN) * 0.5, rng.normal(size=OUTPUT) * 0.3])


def data(count: int, seed: int, weights, biases) -> np.ndarray:
    """``count`` samples x (count, 8) of the teacher, in the data's own units."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(count, LATENT))
    return np.tanh(z @ weights[0].T + biases[0]) @ weights[1].T + biases[1] + NOISE * rng.normal(size=(count, OUTPUT))


def _name(kind: str, key: str) -> str:
    """Column name of a pathway: x_backprop, z_feedback_alignment, …"""
    return f"{kind}_{key.replace('-', '_')}"


def build(teacher_layers, seed: int, mean: np.ndarray) -> Circuit:
    """One circuit holding the fixed teacher and the four students (columns x_<key>, z_<key>),
    every pathway in noise units; students start from the same random weights."""
    circuit = Circuit(dt=0.1 * ms, tau_estimate=100 * ms, tau_error=0.3 * ms, batch_size=BATCH, seed=seed)
    weights, biases = teacher_layers
    rng = np.random.default_rng(seed + 1)
    hidden = [rng.normal(size=(STUDENT_HIDDEN, LATENT)), rng.normal(size=(OUTPUT, STUDENT_HIDDEN)) / (
        np.sqrt(STUDENT_HIDDEN) * NOISE)]
    for key in ("teacher", *STUDENTS):
        circuit.sensory(_name("x", key), OUTPUT, covariance=1.0)
        circuit.column(_name("z", key), LATENT, covariance=1.0)
    circuit.connect("z_teacher", "x_teacher", [weights[0], weights[1] / NOISE], ["linear", "tanh"],
                    [biases[0], biases[1] / NOISE])
    for key, options in STUDENTS.items():
        if key == "one-layer":
            layers = dict(weights=rng.normal(size=(OUTPUT, LATENT)) / NOISE, activation="tanh", bias=mean)
        else:
            layers = dict(weights=[w.copy() for w in hidden], activation=["linear", "tanh"], bias=[0.0, mean])
        circuit.connect(_name("z", key), _name("x", key), plastic=True, learn_bias=True, **layers, **options)
    return circuit


def held_out_free_energy(circuit, test: np.ndarray) -> dict:
    """Mean F per sample of each pathway at its settled estimates for the held-out ``test``
    (noise units in, the data's units out)."""
    batches = test[: len(test) // BATCH * BATCH].reshape(-1, BATCH, OUTPUT)
    keys = ["teacher", *STUDENTS]
    rec = circuit.run_sequence({_name("x", key): batches for key in keys}, TEST_ITEM, learn=False)
    energies = free_energy_by_level(circuit.columns.values(), rec.trial_end)
    return {key: float(np.mean(energies[_name("x", key)] + energies[_name("z", key)]) + OUTPUT * np.log(NOISE))
            for key in keys}


def simulate(duration=DEFAULT_DURATION, seed=0) -> Outcome:
    """``duration``: simulated training time (items of 30 ms, one update each)."""
    updates = check_duration(duration, MINIMUM_DURATION, DURATION_STEP, NAME)
    layers = teacher(seed)
    train = data(TRAIN, seed + 1, *layers) / NOISE
    test = data(TEST, seed + 2, *layers) / NOISE
    circuit = build(layers, seed, train.mean(axis=0))
    rng = np.random.default_rng(seed + 3)
    history, done = [], 0
    checkpoints = {updates * k // CHECKPOINTS for k in range(1, CHECKPOINTS + 1)}
    bounds = sorted(checkpoints | {int(ANNEALING[0] * updates)})
    for bound in bounds:
        if done == int(ANNEALING[0] * updates):
            for projection in circuit.projections[1:]:
                projection.learning_rate = np.multiply(projection.learning_rate, ANNEALING[1]).tolist()
        count = bound - done
        order = np.concatenate([rng.permutation(TRAIN) for _ in range(-(-count * BATCH // TRAIN))])
        items = train[order[: count * BATCH]].reshape(count, BATCH, OUTPUT)
        circuit.run_sequence({_name("x", key): items for key in ("teacher", *STUDENTS)}, ITEM, learn_at="laplace")
        done = bound
        if bound in checkpoints:
            history.append((done, held_out_free_energy(circuit, test)))
    final = history[-1][1]
    reference = final["teacher"]
    summary = {"simulation": NAME, "seed": seed, "updates": updates, "batch": BATCH, "item_ms": float(ITEM / ms),
               "noise": NOISE, "training_samples": TRAIN, "held_out_samples": TEST,
               "held_out_free_energy": final,
               "relative_to_teacher": {k: abs(v - reference) / abs(reference) for k, v in final.items()},
               "relative_to_backprop": {k: abs(final[k] - final["backprop"]) / abs(final["backprop"])
                                        for k in ("feedback-alignment", "target-prop")},
               "history": [{"updates": n, **energies} for n, energies in history],
               "learning": {k: {name: value for name, value in v.items()} for k, v in STUDENTS.items()}}
    table = [("held-out F, teacher (nats/sample)", reference, ""),
             *[(f"held-out F, {key}", final[key],
                "within 5 % of teacher" if key == "backprop" else
                "clearly above" if key == "one-layer" else "within 20 % of backprop") for key in STUDENTS]]
    return Outcome(summary, table, {"deep_teacher": _figure(history)})


@style.styled
def _figure(history) -> Figure:
    figure, (curves, bars) = style.figure(1, 2, height=3.2, width_ratios=[1.6, 1])
    updates = [n for n, _ in history]
    teacher_energy = history[-1][1]["teacher"]
    colors = dict(zip(("backprop", "feedback-alignment", "target-prop", "one-layer"), style.PALETTE))
    for key, color in colors.items():
        curves.plot(updates, [e[key] for _, e in history], "o-", ms=3, color=color, label=key)
    curves.axhline(teacher_energy, color=style.COLORS["reference"], lw=1, label="teacher")
    curves.axhspan(teacher_energy, teacher_energy + 0.05 * abs(teacher_energy), color="0.85", label="within 5 %")
    curves.set_ylim(teacher_energy - 1, teacher_energy + 12)
    style.label(curves, x="updates (batches of 100 items)", y=("held-out free energy", "nats / sample"),
                title="Learning a 2-layer teacher within the neuron")
    curves.legend(loc="upper right")
    final = history[-1][1]
    keys = ["teacher", *colors]
    bars.bar(range(len(keys)), [final[k] for k in keys], color=[style.COLORS["reference"], *colors.values()])
    bars.axhspan(teacher_energy, teacher_energy + 0.05 * abs(teacher_energy), color="0.85")
    bars.set_xticks(range(len(keys)), ["teacher", "backprop", "feedback\nalignment", "target\nprop", "one\nlayer"])
    style.label(bars, x=("learning rule", "student"), y=("held-out F after training", "nats / sample"),
                title=f"After {updates[-1]} updates")
    for k, key in enumerate(keys):
        bars.annotate(f"{final[key]:.2f}", (k, final[key]), ha="center", va="bottom" if final[key] > 0 else "top",
                      fontsize=7)
    style.panel_letters(figure)
    return figure
