"""The `commonplace` command: serve, import, reindex, user, backup, maintain."""

from __future__ import annotations

import getpass
import os
import sys
import time
from pathlib import Path

import click

from server.settings import Settings

DATA_HELP = "Data directory (default ./data, or COMMONPLACE_DATA)."


def data_option(fn):
    return click.option("--data", "data", type=click.Path(file_okay=False, path_type=Path), default=None,
                        help=DATA_HELP)(fn)


def _settings(data: Path | None, **overrides: object) -> Settings:
    return Settings.from_env(data=data, **overrides)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Commonplace: an offline-first knowledge commons you can read, edit and search on a phone."""


@main.command()
@click.option("--host", default=None, help="Address to listen on (default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port to listen on (default 8000).")
@data_option
def serve(host: str | None, port: int | None, data: Path | None) -> None:
    """Run the app on the embedded default (SQLite under the data directory)."""
    import uvicorn

    from server.app import create_asgi

    settings = _settings(data, host=host, port=port)
    click.echo(f"Commonplace on http://{settings.host}:{settings.port}/  (data: {settings.data.resolve()})")
    uvicorn.run(create_asgi(settings), host=settings.host, port=settings.port, log_level="warning",
                proxy_headers=False, server_header=False)


@main.command(name="import")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["jsonl", "markdown"]), default=None,
              help="jsonl: one {\"title\", \"text\"} object a line; markdown: a folder of .md files "
                   "(first line `# Title`). Default: by PATH (folder = markdown).")
@click.option("--author", default="Commonplace import", show_default=True,
              help="Name the imported revisions are credited to.")
@data_option
def import_command(path: Path, fmt: str | None, author: str, data: Path | None) -> None:
    """Import pages from PATH; re-running it changes nothing unless the source changed."""
    from server.db import Database
    from server.importer import ImportProblem, check_source, count_records, import_path
    from server.seed import seed_if_empty

    settings = _settings(data)
    try:
        fmt = check_source(path, fmt)
    except ImportProblem as exc:
        raise click.ClickException(str(exc)) from exc
    db = Database(settings.db_path)
    if settings.seed:
        seed_if_empty(db)
    started = time.perf_counter()
    try:
        total = count_records(path, fmt)
        with click.progressbar(length=total, label=f"Importing {path.name}", show_pos=True,
                               show_eta=True, file=sys.stderr) as bar:
            report = import_path(db, path, fmt, author=author, progress=bar.update,
                                 max_page_bytes=settings.max_page_bytes)
    except (ImportProblem, UnicodeDecodeError, OSError) as exc:
        raise click.ClickException(f"Import stopped: {exc}. Pages imported before this point are kept.") from exc
    finally:
        db.close()
    took = time.perf_counter() - started
    click.echo(f"{report.created} created, {report.updated} updated, {report.unchanged} unchanged, "
               f"{len(report.rejected)} rejected in {took:.1f} s ({report.total / max(took, 1e-9):.0f} pages/s).")
    for line in report.rejected[:20]:
        click.echo(f"  rejected: {line}", err=True)


@main.command()
@click.option("--all", "everything", is_flag=True, help="Queue every page again, not only pending ones.")
@data_option
def reindex(everything: bool, data: Path | None) -> None:
    """(Re)build the search indexes. Interrupt it any time: running it again continues where it stopped."""
    from search import index
    from search.embedder import LazyEmbedder
    from search.indexer import Indexer
    from server.db import Database

    settings = _settings(data)
    db = Database(settings.db_path)
    try:
        embedder = LazyEmbedder(settings.model)
        embedder.start()
        click.echo(f"Loading the model {settings.model}…", err=True)
        if embedder.get(timeout=None) is None:
            click.echo(f"Search by meaning is unavailable: {embedder.error}. Building the word index only.", err=True)
        db.write(index.reset_failures)
        queued = db.write(index.enqueue_all) if everything or not db.read(index.chunk_count) else db.read(
            index.pending_count)
        indexer = Indexer(db, embedder)
        started = time.perf_counter()
        with click.progressbar(length=queued, label="Indexing pages", show_pos=True, show_eta=True,
                               file=sys.stderr) as bar:
            stats = indexer.drain(progress=bar.update)
        took = time.perf_counter() - started
    finally:
        db.close()
    click.echo(f"{stats.pages} pages, {stats.chunks} chunks in {took:.1f} s: {stats.embedded} embedded "
               f"({stats.embedded / max(took, 1e-9):.1f} chunks/s), {stats.reused} reused unchanged.")


@main.group()
def user() -> None:
    """Manage accounts."""


@user.command(name="create")
@click.argument("name")
@click.option("--moderator", is_flag=True, help="Make the account a moderator (can protect pages and roll back).")
@click.option("--password-file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Read the password from the first line of this file instead of prompting.")
@data_option
def user_create(name: str, moderator: bool, password_file: Path | None, data: Path | None) -> None:
    """Create the account NAME (the password is prompted unless --password-file is given)."""
    from server.accounts import register
    from server.db import Database
    from server.users import ROLE_EDITOR, ROLE_MODERATOR, AccountError

    if password_file:
        password = password_file.read_text(encoding="utf-8").splitlines()[0] if password_file.stat().st_size else ""
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Repeat it: ") != password:
            raise click.ClickException("The two passwords differ; nothing was created.")
    db = Database(_settings(data).db_path)
    try:
        register(db, name, password, ROLE_MODERATOR if moderator else ROLE_EDITOR)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        db.close()
    click.echo(f"Created {'moderator' if moderator else 'editor'} {name}.")


@user.command(name="role")
@click.argument("name")
@click.argument("role", type=click.Choice(["editor", "moderator"]))
@data_option
def user_role(name: str, role: str, data: Path | None) -> None:
    """Give the account NAME the role ROLE (editor or moderator)."""
    from server.db import Database
    from server.users import find_user, set_role

    db = Database(_settings(data).db_path)
    try:
        if db.read(find_user, name) is None:
            raise click.ClickException(f"There is no account called {name}.")
        db.write(set_role, name, role)
    finally:
        db.close()
    click.echo(f"{name} is now a {role}.")


def _set_blocked(name: str, data: Path | None, blocked: bool) -> None:
    from server.db import Database
    from server.users import find_user, set_blocked

    db = Database(_settings(data).db_path)
    try:
        user = db.read(find_user, name)
        if user is None:
            raise click.ClickException(f"There is no account called {name}.")
        db.write(set_blocked, user["username"], blocked)
    finally:
        db.close()


@user.command(name="block")
@click.argument("name")
@data_option
def user_block(name: str, data: Path | None) -> None:
    """Block the account NAME: its sessions and tokens stop working at once and it cannot log in or edit."""
    _set_blocked(name, data, True)
    click.echo(f"{name} is blocked; its sessions have ended.")


@user.command(name="unblock")
@click.argument("name")
@data_option
def user_unblock(name: str, data: Path | None) -> None:
    """Lift the block on the account NAME (it logs in again to get a new session)."""
    _set_blocked(name, data, False)
    click.echo(f"{name} is no longer blocked.")


@main.command()
@click.argument("dest", type=click.Path(dir_okay=False, path_type=Path))
@data_option
def backup(dest: Path, data: Path | None) -> None:
    """Write a consistent copy of the database to DEST, safe while the server runs."""
    from server.backup import BackupProblem, backup_database

    settings = _settings(data)
    try:
        size = backup_database(settings.db_path, dest)
    except BackupProblem as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Backed up to {dest} ({size / 1e6:.1f} MB); integrity check ok.")


@main.command()
@click.option("--prune-cache", is_flag=True,
              help="Also drop cached vectors of text no page holds now (most space back; a revert to old text "
                   "embeds it again).")
@data_option
def maintain(prune_cache: bool, data: Path | None) -> None:
    """Reclaim space: rebuild the vector index without deleted rows, optimize the word index, VACUUM."""
    from server.maintenance import maintain as run_maintenance

    settings = _settings(data)
    if not settings.db_path.exists():
        raise click.ClickException(f"There is no database at {settings.db_path}; check --data.")
    started = time.perf_counter()
    report = run_maintenance(settings.db_path, prune_cache=prune_cache)
    if prune_cache:
        click.echo(f"Dropped {report.cache_rows_dropped} cached vectors no page uses.")
    click.echo(f"Rebuilt the vector index ({report.vectors} vectors), optimized the word index and vacuumed in "
               f"{time.perf_counter() - started:.1f} s: {report.bytes_before / 1e6:.1f} MB -> "
               f"{report.bytes_after / 1e6:.1f} MB ({report.reclaimed / 1e6:.1f} MB reclaimed).")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
