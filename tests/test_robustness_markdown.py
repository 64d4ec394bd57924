"""report.md renders the result rows as given: hand-made rows, hand-formatted expectations."""
from archsim.robustness.markdown import render


def _transfer_row(attack, fooled_e, fooled_a, eligible=40):
    se, sa = fooled_e / eligible, fooled_a / eligible
    return {"attack": attack, "crafted_on": "target-exact", "eligible": eligible,
            "fooled_exact": fooled_e, "fooled_approx": fooled_a, "success_rate_exact": se,
            "success_rate_approx": sa, "transfer_rate": float("nan"),
            "success_reduction": 1 - sa / se if se else float("nan"),
            "mean_l2": 0.12345, "mean_linf": 0.0314}


def test_transfer_and_blackbox_tables():
    rows = [_transfer_row("fgsm[eps=0.1]", 20, 10), _transfer_row("pgd[eps=0.1]", 0, 0)]
    decision = [{"attack": "square", "model": "da", "query_budget": 100, "images": 3,
                 "success_rate": 2 / 3, "median_l2": 1.5, "mean_l2": 1.6, "mean_queries": 7.0}]
    results = {
        "transfer": {"rows": rows, "subset": "test: 50 images",
                     "summary": {"mean_success_reduction": 0.5, "runs_averaged": 1}},
        "blackbox": {"rows": decision, "proxy_rows": rows[:1], "subset": "test: 50 images",
                     "summary": {"mean_success_reduction": 0.5, "runs_averaged": 1}}}
    text = render("demo", "da", results)
    assert "| fgsm[eps=0.1] | 40 | 20 | 10 | 50.0 % | 25.0 % | n/a | 50.0 % | 0.123 | 0.031 |" \
        in text
    assert "| pgd[eps=0.1] | 40 | 0 | 0 | 0.0 % | 0.0 % | n/a | n/a |" in text
    assert text.count("Mean reduction of attack success over 1 runs: **50.0 %**") == 2
    assert text.index("crafted on the attacker's proxy") < text.index("decision-based")
    assert "| square | da | 3 | 100 | 66.7 % | 1.500 | 7.000 |" in text


def test_whitebox_summary_and_missing_proxy():
    results = {
        "whitebox": {"rows": [{"attack": "deepfool", "model": "da", "eligible": 4,
                               "success_rate": 1.0, "mean_l2": 2.0, "mean_mse": 0.01,
                               "mean_psnr_db": 20.0}], "subset": "s",
                     "summary": {"deepfool": {"images_both_fooled": 3,
                                              "psnr_exact_minus_approx_db": 9.25}}},
        "blackbox": {"rows": [], "proxy_rows": [], "subset": "s",
                     "summary": {"mean_success_reduction": float("nan"), "runs_averaged": 0}}}
    text = render("demo", "da", results)
    assert "| deepfool | da | 4 | 100.0 % | 2.000 | 20.000 |" in text
    assert "- deepfool: PSNR(exact) - PSNR(approx) = 9.250 dB over the 3 images" in text
    assert "proxy" not in text and "Mean reduction" not in text
