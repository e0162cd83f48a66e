"""Benchmarks: `python -m caredesk.bench [--only NAME,...] [--quick]` writes var/bench/report.json.

One module per figure group (triage, api, knowledge, workorders, alarms); each exposes
`run(quick: bool) -> tuple[dict[str, float], dict[str, str]]` (figures, notes)."""
