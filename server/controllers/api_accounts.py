"""JSON API: sign up, log in (session + bearer token), log out."""

from __future__ import annotations

from dataclasses import dataclass

from litestar import Controller, Request, Response, delete, post
from litestar.exceptions import ClientException, NotAuthorizedException, TooManyRequestsException
from litestar.params import JSONBody

from server.accounts import log_in, sign_up
from server.auth import SESSION_COOKIE, bearer_token, csrf_token
from server.controllers.accounts import signed_in_cookies
from server.db import Database
from server.ratelimit import check_login_account
from server.settings import Settings
from server.users import AccountError, clean_username, delete_session


@dataclass
class Credentials:
    username: str
    password: str


@dataclass
class SessionReply:
    username: str
    token: str
    expires_in_days: int
    # The browser's new CSRF token (its cookie is replaced too), for calls authenticated by the cookie.
    csrf_token: str


class AccountApiController(Controller):
    path = "/api"
    tags = ["accounts"]

    @post("/users", sync_to_thread=True, status_code=201, raises=[TooManyRequestsException])
    def create_account(self, request: Request, db: Database, settings: Settings,
                       data: JSONBody[Credentials]) -> Response[SessionReply]:
        """Sign up; the reply carries a token and sets the session cookie, as log-in does."""
        try:
            token = sign_up(db, data.username, data.password, settings)
        except AccountError as exc:
            raise ClientException(str(exc)) from exc
        cookies = signed_in_cookies(request, token, settings)
        reply = SessionReply(username=clean_username(data.username), token=token,
                             expires_in_days=settings.session_days, csrf_token=csrf_token(request))
        return Response(reply, status_code=201, cookies=cookies)

    @post("/session", sync_to_thread=True, status_code=200, raises=[NotAuthorizedException, TooManyRequestsException])
    def create_session(self, request: Request, db: Database, settings: Settings,
                       data: JSONBody[Credentials]) -> Response[SessionReply]:
        """Log in. Use the token as `Authorization: Bearer <token>`, or rely on the cookie."""
        check_login_account(request, data.username)
        token = log_in(db, data.username, data.password, settings)
        if token is None:
            raise NotAuthorizedException("That username and password do not match.")
        cookies = signed_in_cookies(request, token, settings)
        reply = SessionReply(username=data.username.strip(), token=token, expires_in_days=settings.session_days,
                             csrf_token=csrf_token(request))
        return Response(reply, cookies=cookies)

    @delete("/session", sync_to_thread=True, status_code=204)
    def delete_session(self, request: Request, db: Database) -> None:
        """Log out: the token (bearer or cookie) stops working at once."""
        token = bearer_token(request) or request.cookies.get(SESSION_COOKIE)
        if token:
            db.write(delete_session, token)
