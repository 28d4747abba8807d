"""What subscribers and SendGrid reach over the web: unsubscribe pages, the event webhook, the static archive."""
