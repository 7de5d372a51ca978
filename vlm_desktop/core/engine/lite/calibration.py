"""Stated confidences that match accuracy: small logistic models over the model's evidence.

The constants are fitted by `benchmarks/eval_answers.py --fit --n 60` on one part of a labelled set
built offline (Fashion-MNIST *training* images and the even-numbered Open Clip Art images of
six folders for yes/no; generated shapes and tinted Fashion-MNIST training images with seed 0
for colour) and reported on another (Fashion-MNIST *test* images, the odd-numbered Open Clip
Art images, scikit-image photos, shapes and tints with seed 1). Refit them when the vision
tower or the evidence it gives changes.
"""

from __future__ import annotations

import math

import numpy as np

# P(the thing asked about is in the image) from its presence evidence; see presence_features.
PRESENCE_WEIGHTS = (1.776, -0.248, -1.346)
PRESENCE_BIAS = 4.898  # fitted on 238 questions, 50% present
# P(the colour named is the object's basic colour) from the colour vote; see colour_features.
COLOUR_WEIGHTS = (3.581, 0.238, -0.864, 0.0)  # no unknown-phrase case in the fit part
COLOUR_BIAS = -0.807  # fitted on 120 questions, 88% right
EPS = 1e-4
# The fit part holds almost no image the classifier recognises well (Fashion-MNIST garments
# and clip art are far from its photos): there even "absent everywhere" is present 31 % of
# the time, and no confident "no" can be learnt. Where the image's main object is clearly
# recognised and the concept has no mass anywhere (whole image nor any local window), "no"
# is stated at this confidence: the model knows the concept and sees the scene.
ABSENT_EVERYWHERE = 0.01
SURE_ABSENT = 0.9
NO_EVIDENCE_MAX = 0.45  # P(present) with no evidence anywhere: "can't tell" at most
LOCAL_DISCOUNT = 0.8  # a local view alone is a little less sure (as answerer._presence)


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


def presence_features(glob: float, local: float, top_prob: float, classes: int) -> np.ndarray:
    """What the presence of a concept rests on: its mass in the whole image or, a little
    discounted, in the best local window (log scale: 1 % and 0.01 % are both "absent" but
    not equally), how sure the classifier is of anything in the image (a confused
    classifier's "absent" says less), and how many classes the concept spans (a broad
    concept collects mass by its size alone)."""
    p = max(glob, LOCAL_DISCOUNT * local)
    return np.array([math.log10(p + EPS), top_prob, math.log10(max(1, classes))], np.float64)


def presence_probability(glob: float, local: float, top_prob: float, classes: int) -> float:
    """Calibrated probability that the concept is in the image."""
    f = presence_features(glob, local, top_prob, classes)
    return _sigmoid(float(np.dot(PRESENCE_WEIGHTS, f)) + PRESENCE_BIAS)


def absent_everywhere(glob: float, local: float) -> bool:
    """Whether a concept's evidence is absent from the whole image and every local window."""
    return max(glob, local) < ABSENT_EVERYWHERE


def presence(glob: float, local: float, top_prob: float, classes: int, scene_known: bool,
             concept_known: bool) -> float:
    """P(present) as answers state it: the fitted model, except that with no evidence anywhere
    it never leans to "yes" (the fit part's misses are no reason to claim a thing), and that
    "no" is sure only where the model knows the concept and recognises the scene."""
    p = presence_probability(glob, local, top_prob, classes)
    if absent_everywhere(glob, local):
        p = min(p, NO_EVIDENCE_MAX)
        if scene_known and concept_known:
            p = min(p, 1 - SURE_ABSENT)
    return p


def colour_features(fraction: float, runner_up: float, hedged: bool = False,
                    unknown: bool = False) -> np.ndarray:
    """The winning basic colour's share of the region and its lead over the next, and which
    region it was measured in: the main object's when the thing asked about was not seen
    (`hedged`), or where an unknown phrase's attention points (`unknown`)."""
    return np.array([fraction, fraction - runner_up, float(hedged), float(unknown)], np.float64)


def colour_probability(fraction: float, runner_up: float, hedged: bool = False,
                       unknown: bool = False) -> float:
    """Calibrated probability that the named basic colour is the object's colour."""
    f = colour_features(fraction, runner_up, hedged, unknown)
    return _sigmoid(float(np.dot(COLOUR_WEIGHTS, f)) + COLOUR_BIAS)


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1e-2, steps: int = 50
                 ) -> tuple[np.ndarray, float]:
    """Weights and bias of a logistic regression fitted by Newton's method (L2 on weights)."""
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    a = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(a.shape[1])
    reg = np.full(a.shape[1], l2)
    reg[-1] = 0.0
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-np.clip(a @ w, -30, 30)))
        grad = a.T @ (p - y) + reg * w
        hess = (a * (p * (1 - p))[:, None]).T @ a + np.diag(reg + 1e-9)
        step = np.linalg.solve(hess, grad)
        w -= step
        if float(np.abs(step).max()) < 1e-8:
            break
    return w[:-1], float(w[-1])
