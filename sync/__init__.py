"""The sync protocol on the server: applying ops, the changes feed."""
