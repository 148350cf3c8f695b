"""Search over the commons (semantic search arrives with issue 3)."""
