"""`/exalate export [days]`: the workspace's connections and their audit trail as a CSV in the
admin's DM. `texts.py` (what it says), `rows.py` (the days asked, a row's cells, formulas
neutralised: pure), `csvfile.py` (the pages written to a file), `upload.py` (Slack's three
steps, the file streamed), `flow.py` (all of it, after the command's ack)."""
