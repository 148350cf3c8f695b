"""HTML sign-up, log-in, log-out, user pages, and moderator rollback and blocking."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import quote

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import Body
from litestar.response import Redirect

from server.accounts import log_in, sign_up
from server.auth import SESSION_COOKIE, csrf_cookies, rotate_csrf
from server.clock import now_iso, parse_iso
from server.db import Database
from server.pages import user_contributions
from server.ratelimit import check_login_account
from server.settings import Settings
from server.templating import html_response
from server.users import AccountError, Actor, delete_session, find_user, set_blocked
from sync.apply import Policy
from sync.rollback import roll_back_user

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]
DEFAULT_ROLLBACK_HOURS = 24
MAX_ROLLBACK_HOURS = 24 * 30


def safe_next(target: str) -> str:
    """Only same-site paths, so a crafted link cannot send people elsewhere after log-in."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def session_cookie(token: str, settings: Settings) -> Cookie:
    return Cookie(key=SESSION_COOKIE, value=token, httponly=True, samesite="lax", path="/",
                  secure=settings.secure_cookies, max_age=settings.session_days * 86400)


def signed_in_cookies(request: Request, token: str, settings: Settings) -> list[Cookie]:
    """The session cookie and a new CSRF token: the one from before the log-in is not carried over."""
    rotate_csrf(request)
    return [session_cookie(token, settings), *csrf_cookies(request, settings.secure_cookies)]


def signed_in_redirect(request: Request, target: str, token: str, settings: Settings) -> Redirect:
    return Redirect(target, status_code=303, cookies=signed_in_cookies(request, token, settings))


def _text(form: dict[str, Any], name: str) -> str:
    value = form.get(name, "")
    return value if isinstance(value, str) else ""


def _rollback_hours(text: str) -> int | None:
    """The rollback period, or None when it is not 1 to 720 in ASCII digits.

    `str.isdigit` is true for `²` and `٣`, which `int` then refuses or reads as another number (issue 11).
    """
    text = text.strip()
    if not text:
        return DEFAULT_ROLLBACK_HOURS
    if not re.fullmatch(r"[0-9]{1,4}", text) or not 1 <= int(text) <= MAX_ROLLBACK_HOURS:
        return None
    return int(text)


class AccountController(Controller):
    path = "/"

    @get("/login")
    async def get_login(self, request: Request, next: str = "/") -> Response:
        return html_response(request, "login.html", next=safe_next(next), username="")

    @post("/login", sync_to_thread=True)
    def post_login(self, request: Request, db: Database, settings: Settings, data: Form) -> Response:
        username, target = _text(data, "username"), safe_next(_text(data, "next") or "/")
        check_login_account(request, username)
        token = log_in(db, username, _text(data, "password"), settings)
        if token is None:
            return html_response(request, "login.html", status_code=401, next=target, username=username,
                                 error="That username and password do not match. Check both and try again.")
        return signed_in_redirect(request, target, token, settings)

    @get("/signup")
    async def get_signup(self, request: Request) -> Response:
        return html_response(request, "signup.html", username="")

    @post("/signup", sync_to_thread=True)
    def post_signup(self, request: Request, db: Database, settings: Settings, data: Form) -> Response:
        username = _text(data, "username")
        try:
            token = sign_up(db, username, _text(data, "password"), settings)
        except AccountError as exc:
            return html_response(request, "signup.html", status_code=400, username=username, error=str(exc))
        return signed_in_redirect(request, "/", token, settings)

    @post("/logout", sync_to_thread=True)
    def post_logout(self, request: Request, db: Database) -> Response:
        token = request.cookies.get(SESSION_COOKIE)
        if token:
            db.write(delete_session, token)
        response = Redirect("/", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @get("/users/{username:str}", sync_to_thread=True)
    def get_user(self, request: Request, db: Database, username: str) -> Response:
        user = db.read(find_user, username)
        if user is None:
            raise NotFoundException("There is no account with that name.")
        return html_response(request, "user.html", user=user, changes=db.read(user_contributions, user["id"]))

    @post("/users/{username:str}/rollback", sync_to_thread=True)
    def rollback_user(self, request: Request, db: Database, actor: Actor, policy: Policy, username: str,
                      data: Form) -> Response:
        if not actor.is_moderator:
            raise PermissionDeniedException("Only moderators can roll back edits.")
        user = db.read(find_user, username)
        if user is None:
            raise NotFoundException("There is no account with that name.")
        hours = _rollback_hours(_text(data, "hours"))
        if hours is None:
            return html_response(request, "message.html", status_code=400, heading="Nothing was rolled back",
                                 message=f"Hours must be a whole number from 1 to {MAX_ROLLBACK_HOURS} (30 days), "
                                         "written in digits 0-9. Choose a period from the list and try again.",
                                 link=f"/users/{quote(username, safe='')}", link_text=f"Back to {username}")
        since = (parse_iso(now_iso()) - timedelta(hours=hours)).isoformat()
        reverted = db.write(roll_back_user, user, since.replace("+00:00", "Z"), actor, policy)
        return html_response(request, "message.html", heading="Rolled back",
                             message=f"Restored {reverted} page{'s' if reverted != 1 else ''} to the last "
                                     f"revision before {username}'s edits.",
                             link=f"/users/{username}", link_text=f"Back to {username}")

    @post("/users/{username:str}/block", sync_to_thread=True)
    def block_user(self, db: Database, actor: Actor, username: str, data: Form) -> Response:
        """Moderators: `blocked=1` blocks the account (its sessions end at once), `blocked=0` lifts the block."""
        if not actor.is_moderator:
            raise PermissionDeniedException("Only moderators can block accounts.")
        user = db.read(find_user, username)
        if user is None:
            raise NotFoundException("There is no account with that name.")
        if user["id"] == actor.user_id:
            raise PermissionDeniedException("You cannot block your own account.")
        db.write(set_blocked, user["username"], _text(data, "blocked") == "1")
        return Redirect(f"/users/{quote(user['username'], safe='')}", status_code=303)
