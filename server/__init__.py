"""Commonplace server: settings, storage, HTML views, JSON API and CLI."""
