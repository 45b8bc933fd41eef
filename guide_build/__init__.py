"""The guide's build glue.

- `core/`: plain Python with no MkDocs in it: running snippets in isolated processes (runner,
  snippet_server, snippet_child), the run cache, claims and witnesses, reading page sources,
  notebooks, the inventory table, stamps and markers, the GPU record.
- `adapters/`: the thin layers that MkDocs (hooks), markdown-exec (the code fence),
  pymdownx.snippets and pytest call. They call the core, never the reverse.
- `theme/`: the one Material template override.
"""
