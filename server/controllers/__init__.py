"""HTTP controllers: HTML views and the JSON API. They compose storage, sync and search."""
