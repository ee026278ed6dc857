"""An invitation's life after Initiate: reminders, escalation, expiry, acceptance, decline,
snooze, resend, cancel, and what the node reports.

Every change is a conditional update of the state it starts from (so of two replicas or two
clicks only one wins), its audit row, and the messages it calls for, in one transaction. The
messages go out through the outbox (bot/delivery/) right after, or on the next sweep.

ids.py (the DM buttons' and the partner modals' ids), messages.py (the DMs and notices),
texts.py (what the bot says back), views.py (the partner's modals), policy.py (when to
remind, pure), notices.py (outbox and audit rows), transitions.py (the moves every action
shares), sweep.py, partner.py, admin.py, status.py (the actions, by who takes them) and
service.py (`Invitations`, all of them in one).
"""
