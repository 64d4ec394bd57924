"""One self-contained HTML report for a run or a sweep directory (`archsim report DIR`)."""
