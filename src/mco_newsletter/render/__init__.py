"""Rendering: an edition to email (edition_email.py: Jinja2 renders MJML and text, mjml-python compiles HTML, mime.py
builds the message), the templates and their words (templates.py, theme.py), Markdown to HTML (markup.py), dates
and numbers in the reader's language (locale.py), pictures (pictures.py) and [privacy] (privacy.py)."""
