"""E-mail for partners outside Slack: SMTP settings, the messages, the sender and the mail
courier over the outbox."""
