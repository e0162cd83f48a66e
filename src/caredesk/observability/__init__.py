"""What operators watch: Prometheus metrics (metrics.py, gauges.py) and structured logs (logs.py)."""
