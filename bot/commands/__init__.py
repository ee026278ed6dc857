"""`/exalate`'s commands: their ids (ids.py), texts (texts.py), replies (views.py), the reads
behind them (operations.py), and which subcommand does what for whom (route.py)."""
