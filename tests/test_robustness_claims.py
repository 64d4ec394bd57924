"""claims.csv verdict rules on hand-made results; Newcombe's interval by hand; the rebuild from
a run directory's CSVs."""
import math

import pytest

from archsim.robustness import claims as C
from archsim.robustness import stats as st


def _summary(source, model, transferred, fooled_source, fooled, fooled_exact, attempts,
             exact_only=0, model_only=0):
    lo, hi = st.wilson(transferred, fooled_source)
    return {"source": source, "model": model, "runs": 2, "attempts": attempts, "fooled": fooled,
            "fooled_exact": fooled_exact, "fooled_source": fooled_source,
            "transferred": transferred, "reduction_transfer": 1 - transferred / fooled_source,
            "reduction_transfer_ci": [1 - hi, 1 - lo], "reduction_ratio": 0.0,
            "exact_only": exact_only, "model_only": model_only,
            "mcnemar_p": st.mcnemar_exact(exact_only, model_only)}


def test_newcombe_by_hand():
    d, lo, hi = C.newcombe(30, 100, 10, 100)
    (l1, u1), (l2, u2) = st.wilson(30, 100), st.wilson(10, 100)
    assert d == pytest.approx(0.2)
    assert lo == pytest.approx(0.2 - math.sqrt((0.3 - l1) ** 2 + (u2 - 0.1) ** 2))
    assert hi == pytest.approx(0.2 + math.sqrt((u1 - 0.3) ** 2 + (0.1 - l2) ** 2))


def test_verdicts():
    transfer = {"target->da": _summary("target", "da", 13, 100, 13, 100, 120),
                "target->fp16-weights": _summary("target", "fp16-weights", 95, 100, 95, 100, 120),
                "target->noise": _summary("target", "noise", 10, 100, 10, 100, 120),
                "proxy->da": _summary("proxy", "da", 5, 10, 40, 10, 200, 1, 31)}
    wb_rows = [{"label": "pgd[eps=0.1]", "model": m, "attack": "pgd-margin", "norm": "inf",
                "eps": 0.1, "n": 50, "fooled": f, "exact_only": eo, "model_only": mo,
                "mcnemar_p": st.mcnemar_exact(eo, mo)}
               for m, f, eo, mo in (("float32-numpy", 20, 0, 0), ("da", 30, 0, 10))]
    summary = {"ddn|da": {"attack": "ddn", "model": "da", "images_both_fooled": 50,
                          "psnr_exact_minus_model_db": 3.5, "ci_low": 2.0, "ci_high": 5.0},
               "deepfool|da": {"attack": "deepfool", "model": "da", "images_both_fooled": 50,
                               "psnr_exact_minus_model_db": 9.0, "ci_low": 8.0, "ci_high": 10.0}}
    rows = C.claims("mnist", "da", {"transfer": {"summary": transfer},
                                    "whitebox": {"rows": wb_rows, "summary": summary}})
    by = {r["claim"].split(" (")[0]: r for r in rows}
    head = rows[0]
    assert head["paper_value"] == 0.87 and head["archsim_value"] == pytest.approx(0.87)
    assert head["verdict"] == "reproduced"            # 0.87 inside the Wilson interval
    assert by["transfer: da transfers less than control fp16-weights"]["verdict"] == "reproduced"
    assert by["transfer: da transfers less than control noise"]["verdict"] == "inconclusive"
    assert by["transfer from surrogate proxy: da fooled less often than exact"]["verdict"] \
        == "refuted"
    assert by["white-box pgd-margin Linf eps=0.1: da fooled less often than exact"][
        "verdict"] == "refuted"                        # McNemar p = 0.002, da fooled more
    noise = [r for r in rows if r["claim"].startswith("white-box ddn")]
    assert len(noise) == 1 and noise[0]["verdict"] == "reproduced"   # 4 dB in [2, 5]
    assert not any("deepfool" in r["claim"] for r in rows)   # DeepFool never decides it
    refuted = C.claims("cifar10", "da", {"transfer": {"summary": {
        "target->da": _summary("target", "da", 80, 100, 80, 100, 120)}}})
    assert refuted[0]["paper_value"] == 0.715 and refuted[0]["verdict"] == "refuted"



def test_smallest_effect_of_interest():
    """A control comparison needs a significant effect of at least the margin to be reproduced
    (2 points, 0.5 dB); an interval below the margin refutes it, significant or not."""
    assert (C.MIN_RATE_DIFFERENCE, C.MIN_PSNR_DB) == (0.02, 0.5)
    cases = {"tiny": (0.002, 0.001, 0.004, "refuted"),       # significant but negligible
             "null": (0.0, -0.1, 0.1, "refuted"),             # no effect, excluded >= 0.5 dB
             "small": (0.3, 0.1, 0.9, "inconclusive"),        # significant, below the margin
             "wide": (0.8, -0.2, 1.8, "inconclusive"),        # not significant
             "big": (1.0, 0.6, 1.4, "reproduced"),
             "other": (-1.0, -1.4, -0.6, "refuted")}
    summary = {f"ddn|{m}": {"attack": "ddn", "model": m, "images_both_fooled": 50,
                            "psnr_exact_minus_model_db": v, "ci_low": lo, "ci_high": hi}
               for m, (v, lo, hi, _) in cases.items()}
    rows = C.claims("mnist", "da", {"whitebox": {"rows": [], "summary": summary}})
    got = {r["claim"].split(": ")[1].split(" needs")[0]: r["verdict"] for r in rows}
    assert got == {m: c[3] for m, c in cases.items()}
    # paired white-box rows (McNemar): 4,000 images, 1,000 vs 1,040 fooled on exact
    def wb(model, fooled, eo, mo, n=4000):
        return {"label": "pgd", "model": model, "attack": "pgd-margin", "norm": "inf",
                "eps": 0.1, "n": n, "fooled": fooled, "exact_only": eo, "model_only": mo,
                "mcnemar_p": st.mcnemar_exact(eo, mo)}
    rows = C.claims("mnist", "da", {"whitebox": {"summary": {}, "rows": [
        wb("float32-numpy", 1040, 0, 0),
        wb("a", 1000, 40, 0),      # p ~ 1e-12 but 1 point fewer: below the 2-point margin
        wb("b", 900, 140, 0),      # 3.5 points fewer, significant: reproduced
        wb("c", 1036, 6, 2)]}})    # not significant; Newcombe's interval reaches past 2 points
    got = {r["claim"].split(": ")[1].split(" fooled")[0]: r["verdict"] for r in rows}
    assert got == {"a": "inconclusive", "b": "reproduced", "c": "inconclusive"}
    d, lo, hi = C.newcombe(1040, 4000, 1000, 4000)
    assert lo < 0 < C.MIN_RATE_DIFFERENCE < hi      # why "a" is not refuted either

def test_rebuild_from_a_run_directory(tmp_path):
    """read_run + main: claims from the CSVs equal the claims from the in-memory rows."""
    import json

    from archsim.results import write_csv
    from archsim.robustness.threats import pooled_reductions
    rows = []
    for model, fooled, tr, eo, mo in (("float32-numpy", 40, 40, 0, 0), ("da", 30, 28, 12, 2)):
        rows.append({"dataset": "mnist", "source": "target", "label": "pgd[eps=0.1]",
                     "attack": "pgd-margin", "norm": "inf", "eps": 0.1, "model": model, "n": 50,
                     "fooled_source": 40, "fooled": fooled, "transferred": tr,
                     "exact_only": eo, "model_only": mo})
    write_csv(tmp_path / "transfer.csv", rows, list(rows[0]))
    (tmp_path / "results.json").write_text(json.dumps(
        {"dataset": "mnist", "approximate_variant": "da", "results": {}}))
    dataset, approx, results = C.read_run(tmp_path)
    assert (dataset, approx) == ("mnist", "da")
    assert C.claims(dataset, approx, results) == C.claims(
        "mnist", "da", {"transfer": {"summary": pooled_reductions(rows)}})
    assert C.main([str(tmp_path), "--out", str(tmp_path / "c")]) == 0
    text = (tmp_path / "c" / "claims.csv").read_text().splitlines()
    assert text[0] == ",".join(C.COLUMNS) and text[1].endswith(",refuted")
