"""The App Home tab: its ids (ids.py), texts (texts.py), the view (views.py), publishing it
(flow.py) and what its buttons do (route.py)."""
