"""scikit-learn and jieba load without pandas and pkg_resources in a CareDesk process, and pandas still loads
for whoever else asks (statsmodels, for the forecasts). A fresh interpreter each: this one's modules are shared."""

from __future__ import annotations

import subprocess
import sys

CHECK = """
import sys
import caredesk
import sklearn.linear_model, sklearn.feature_extraction.text, jieba
assert 'pandas' not in sys.modules and 'pkg_resources' not in sys.modules, sorted(sys.modules)[:5]
from sklearn.utils import fixes
assert fixes.pd is None
import statsmodels.tsa.holtwinters
import pandas
assert pandas.DataFrame({'a': [1]}).shape == (1, 1)
print('ok')
"""


def test_lean_imports_refuse_pandas_to_sklearn_only() -> None:
    out = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "ok"
