"""Definitions of every reported robustness number (pure numpy; the outputs quote these)."""
from __future__ import annotations

import numpy as np

DEFINITIONS = {
    "accuracy": "fraction of images whose predicted class equals the label; an image whose "
                "logits contain NaN/inf (da-reference domain error) counts as wrong",
    "eligible": "images that BOTH the exact and the approximate network classify correctly "
                "when clean; success rates are computed over these only",
    "success_rate": "among eligible images, fraction whose adversarial example is "
                    "misclassified (untargeted: predicted class != label)",
    "transfer_rate": "among eligible adversarial examples that fool the exact network, the "
                     "fraction that also fool the approximate network",
    "success_reduction": "1 - success_rate(approximate) / success_rate(exact)",
    "l2": "Euclidean norm of (adversarial - clean) over all pixels, pixels in [0, 1]",
    "mse": "mean over pixels of (adversarial - clean)^2",
    "psnr_db": "10 log10(1 / mse) (peak 1.0); higher = smaller perturbation",
    "top1_confidence": "largest softmax probability of the logits",
    "logit_magnification": "per image ||z_approx||_2 / ||z_exact||_2 of the logit vectors",
    "carried": "white-box eps sweeps run in increasing eps; an image fooled at a smaller eps "
               "keeps that adversarial example (it lies in every larger ball) and is not "
               "attacked again; random restarts run one at a time on the images no earlier "
               "start fooled. `carried` counts the images of a row taken from a smaller eps",
}


def accuracy(labels_pred: np.ndarray, labels: np.ndarray) -> float:
    """Fraction correct (label -1 = invalid output counts as wrong)."""
    return float(np.mean(labels_pred == labels)) if len(labels) else float("nan")


def success_stats(y: np.ndarray, clean_exact: np.ndarray, clean_approx: np.ndarray,
                  adv_exact: np.ndarray, adv_approx: np.ndarray) -> dict:
    """Success on exact / approximate, transfer rate and reduction, per DEFINITIONS."""
    eligible = (clean_exact == y) & (clean_approx == y)
    n = int(eligible.sum())
    fool_e = eligible & (adv_exact != y)
    fool_a = eligible & (adv_approx != y)
    se = fool_e.sum() / n if n else float("nan")
    sa = fool_a.sum() / n if n else float("nan")
    return {
        "eligible": n,
        "fooled_exact": int(fool_e.sum()),
        "fooled_approx": int(fool_a.sum()),
        "success_rate_exact": float(se),
        "success_rate_approx": float(sa),
        "transfer_rate": float((fool_e & fool_a).sum() / fool_e.sum()) if fool_e.any()
        else float("nan"),
        "success_reduction": float(1 - sa / se) if n and se > 0 else float("nan"),
    }


def perturbation(x_adv: np.ndarray, x: np.ndarray) -> dict[str, np.ndarray]:
    """Per-image L2, Linf, MSE and PSNR (dB, peak 1.0; inf when identical)."""
    d = np.asarray(x_adv, np.float64) - np.asarray(x, np.float64)
    d = d.reshape(len(d), int(np.prod(d.shape[1:])))  # explicit width: also for 0 images
    mse = (d ** 2).mean(axis=1)
    with np.errstate(divide="ignore"):
        psnr = np.where(mse > 0, 10 * np.log10(1.0 / np.where(mse > 0, mse, 1.0)), np.inf)
    return {"l2": np.sqrt((d ** 2).sum(axis=1)), "linf": np.abs(d).max(axis=1),
            "mse": mse, "psnr_db": psnr}


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax in float64 (stable)."""
    z = np.asarray(logits, np.float64)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def top1_confidence(logits: np.ndarray) -> np.ndarray:
    """Largest softmax probability per row."""
    return softmax(logits).max(axis=1)


def logit_magnification(approx: np.ndarray, exact: np.ndarray) -> np.ndarray:
    """Per image ||z_approx|| / ||z_exact||."""
    return (np.linalg.norm(np.asarray(approx, np.float64), axis=1)
            / np.linalg.norm(np.asarray(exact, np.float64), axis=1))


def summary(values: np.ndarray) -> dict[str, float]:
    """count, mean, median, min, max of the finite values."""
    v = np.asarray(values, np.float64)
    v = v[np.isfinite(v)]
    if not len(v):
        return {"count": 0, "mean": float("nan"), "median": float("nan"),
                "min": float("nan"), "max": float("nan")}
    return {"count": int(len(v)), "mean": float(v.mean()), "median": float(np.median(v)),
            "min": float(v.min()), "max": float(v.max())}
