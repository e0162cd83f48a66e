"""Service levels: the pure rules (policy.py: due times and status; calendar.py: business hours), their
application to stored work orders (tracking.py) and the background sweep and notices (tasks.py)."""
