"""Subscribers: the private store, CSV import/export, segments, sign-up and reader tokens."""

# A subscriber's status. pending: signed up on the web, not yet confirmed (in no segment: segments hold
# active readers only). Here, not in store.py, so that the command line can offer them without importing SQLite.
STATUSES = ("active", "pending", "unsubscribed", "bounced", "complained")
