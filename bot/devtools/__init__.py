"""Slack without Slack: a local Web API + Socket Mode emulator and a sender of signed requests.

They drive `exalate-bot demo` and the end-to-end tests (which plug in a checker that holds
every call to slack_facts.py, the project's own table of Slack's facts) and the benchmarks.
"""
