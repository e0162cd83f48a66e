"""Killed/total per rule module from `mutmut results --all true` (read on stdin); `make mutation` prints it.

A mutant counts as killed when a test failed or timed out on it; survivors and mutants that no test reaches
count against the module. Only `priority_of` of workorders/model.py is a rule module here."""

from __future__ import annotations

import re
import sys
from collections import Counter

# (label, mutant-name prefix): mutmut names a mutant <module>.x_<function>__mutmut_<n> (methods: xǁClassǁname).
RULES = (
    ("intake/decision.py", "caredesk.intake.decision.x"),
    ("sla/policy.py", "caredesk.sla.policy.x"),
    ("sla/calendar.py", "caredesk.sla.calendar.x"),
    ("workorders/routing.py", "caredesk.workorders.routing.x"),
    ("alarms/rules.py", "caredesk.alarms.rules.x"),
    ("workorders/model.py priority_of", "caredesk.workorders.model.x_priority_of__"),
    ("accounts/login_risk.py", "caredesk.accounts.login_risk.x"),
    ("compliance/masking.py", "caredesk.compliance.masking.x"),
)
KILLED = {"killed", "timeout"}
LINE = re.compile(r"^\s*(\S+): (.+?)\s*$")


def main() -> int:
    killed: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for line in sys.stdin:
        match = LINE.match(line)
        if not match:
            continue
        name, status = match.groups()
        label = next((label for label, prefix in RULES if name.startswith(prefix)), None)
        if label is None:
            continue
        total[label] += 1
        killed[label] += status in KILLED
    width = max(len(label) for label, _ in RULES)
    for label, _ in RULES:
        share = 100 * killed[label] / total[label] if total[label] else 0.0
        print(f"{label:<{width}}  {killed[label]:>4}/{total[label]:<4} {share:5.1f}% killed")
    all_killed, all_total = sum(killed.values()), sum(total.values())
    print(f"{'all':<{width}}  {all_killed:>4}/{all_total:<4} {100 * all_killed / max(all_total, 1):5.1f}% killed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
