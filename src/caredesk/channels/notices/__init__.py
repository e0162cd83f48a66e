"""Proactive notices to the customer on their own channel at a work order's key points, and the survey."""
