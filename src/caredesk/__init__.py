"""CareDesk: self-hosted customer-service and complaint handling (Chinese and English)."""

from caredesk import lean_imports

__version__ = "0.1.0"

lean_imports.install()  # before any CareDesk module imports scikit-learn or jieba (see lean_imports)
