"""Subscribers: the private store, CSV import/export, segments and unsubscribe tokens."""
