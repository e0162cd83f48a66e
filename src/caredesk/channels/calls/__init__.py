"""Calls: a call's transcript taken in as a conversation; speech recognition is a pluggable engine."""
