"""Plain-Python core of the build: nothing here imports MkDocs, Markdown or pytest."""
