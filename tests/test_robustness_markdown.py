"""report.md renders the result rows as given: hand-made rows, hand-formatted expectations."""
from archsim.robustness.markdown import render


def _transfer_row(label, model, fooled, n=40, source="target"):
    return {"dataset": "mnist", "source": source, "label": label, "model": model, "n": n,
            "fooled": fooled, "success": fooled / n, "ci_low": 0.1, "ci_high": 0.25,
            "transfer_rate": float("nan"), "reduction_transfer": float("nan"),
            "reduction_ratio": 0.5, "mcnemar_p": 0.0625}


def test_transfer_and_blackbox_tables_and_pooled_summary():
    rows = [_transfer_row("fgsm[eps=0.1]", "da", 10), _transfer_row("pgd[eps=0.1]", "da", 0)]
    decision = [{"attack": "square", "model": "da", "query_budget": 100, "images": 3,
                 "success_rate": 2 / 3, "ci_low": 0.2, "ci_high": 0.9, "median_l2": 1.5,
                 "mean_queries": 7.0}]
    summary = {"target->da": {"source": "target", "model": "da", "transferred": 10,
                              "fooled_source": 20, "reduction_transfer": 0.5,
                              "reduction_transfer_ci": [0.3, 0.7], "reduction_ratio": 0.5,
                              "fooled": 10, "fooled_exact": 20, "attempts": 80}}
    results = {"transfer": {"rows": rows, "subset": "test: 50 images", "summary": summary},
               "blackbox": {"rows": decision, "proxy_rows": rows[:1], "subset": "test: 50 images",
                            "summary": summary}}
    text = render("demo", "da", results)
    assert ("| target | fgsm[eps=0.1] | da | 40 | 10 | 25.0 % | [10.0 %, 25.0 %] | n/a | n/a "
            "| 50.0 % | 0.062 |") in text
    assert text.count("- target -> da: 10/20 transferred, 1 - transfer rate **50.0 %** "
                      "[30.0 %, 70.0 %]; 1 - S/S_exact 50.0 % (10 vs 20 fooled of 80)") == 2
    assert text.index("crafted on the attacker's proxy") < text.index("decision-based")
    assert "| square | da | 3 | 100 | 66.7 % | [20.0 %, 90.0 %] | 1.500 | 7.000 |" in text


def test_whitebox_summary_claims_and_missing_proxy():
    wb = {"dataset": "mnist", "model": "da", "attack": "ddn-margin", "norm": "2", "eps": "",
          "n": 4, "fooled": 4, "success": 1.0, "ci_low": 0.5, "ci_high": 1.0, "label": "ddn",
          "mcnemar_p": 1.0, "median_dist": 2.0, "mean_psnr_db_fooled": 20.0}
    results = {
        "whitebox": {"rows": [wb], "subset": "s",
                     "summary": {"ddn|da": {"attack": "ddn", "model": "da",
                                            "images_both_fooled": 3, "ci_low": -1.5,
                                            "ci_high": -0.5, "psnr_exact_minus_model_db": -1.0}}},
        "blackbox": {"rows": [], "proxy_rows": [], "subset": "s", "summary": {}}}
    claims = [{"dataset": "mnist", "claim": "c1", "paper_value": 4.0, "archsim_value": -1.0,
               "ci_low": -1.5, "ci_high": -0.5, "verdict": "refuted"}]
    text = render("demo", "da", results, claims)
    assert "| ddn | da | 4 | 4 | 100.0 % | [50.0 %, 100.0 %] | 1.000 | 2.000 | 20.000 |" in text
    assert "- ddn: PSNR(exact) - PSNR(da) = -1.000 dB [-1.500, -0.500] over the 3 images" in text
    assert "| c1 | 4.000 | -1.000 | [-1.500, -0.500] | refuted |" in text
    assert text.index("## Claims") < text.index("White-box")
    assert "proxy" not in text and "Pooled" not in text


def test_accuracy_confound_named_from_clean_rows():
    def clean(acc_da):
        rows = [{"variant": v, "images": 10000, "correct": round(a * 10000), "invalid": 0,
                 "accuracy": a} for v, a in (("float32-numpy", 0.7886), ("da", acc_da))]
        return {"clean": {"rows": rows, "subset": "s", "summary": {}}}
    text = render("demo", "da", clean(0.4846))
    assert "## Confound: the approximate model's accuracy" in text
    assert ("`da` classifies 48.5 % of 10000 clean test images correctly, exact 78.9 % "
            "(30.4 points fewer)") in text
    assert text.index("Confound") < text.index("## Clean")
    assert "Confound" not in render("demo", "da", clean(0.7786))    # 1.0 point: below 2
    assert "Confound" not in render("demo", "da", {"transfer": {"rows": [], "subset": "s",
                                                                "summary": {}}})
