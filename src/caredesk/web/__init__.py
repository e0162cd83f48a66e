"""The server-rendered web UI: Jinja templates, htmx fragments and live updates (see routes.py)."""
