"""E-mail in and out: IMAP (with IDLE) and an inbound webhook, threading, encodings, attachments, auto-replies."""
