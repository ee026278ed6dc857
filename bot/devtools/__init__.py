"""Slack without Slack: a local Web API + Socket Mode emulator and a sender of signed requests.

They drive `exalate-bot demo` and the end-to-end tests (which plug in a checker that holds
every call against Slack's published specs) and the benchmarks.
"""
