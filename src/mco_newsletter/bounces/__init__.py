"""The bounce mailbox: where bounces, complaints and mailto unsubscribe requests of mail sent over SMTP arrive,
and `mco-newsletter bounces`, which reads it and applies what it finds (docs/deliverability.md)."""
