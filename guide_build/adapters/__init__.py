"""Adapters between the core and MkDocs, markdown-exec, pymdownx.snippets and pytest."""
