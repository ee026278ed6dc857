"""Delivery: the outbox's rows (rows.py) and the Courier that claims and posts them
(courier.py), one per process, on Services."""
