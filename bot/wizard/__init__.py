"""The `/exalate connect` wizard: its ids, rules, step table, views, private_metadata codec,
texts, and the flow that opens, moves and initiates it (see flow.py)."""
