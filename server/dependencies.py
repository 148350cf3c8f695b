"""Dependency providers; each name matches the handler parameter it fills."""

from __future__ import annotations

from litestar import Request
from litestar.datastructures import State

from search.service import SearchService
from server.auth import request_actor
from server.db import Database
from server.settings import Settings
from server.users import Actor
from sync.apply import Policy


def provide_db(state: State) -> Database:
    return state.db


def provide_settings(state: State) -> Settings:
    return state.settings


def provide_policy(state: State) -> Policy:
    return state.policy


def provide_search(state: State) -> SearchService:
    return state.search


def provide_actor(request: Request) -> Actor:
    return request_actor(request)
