"""A small ZIM file of Commonplace pages, written with PyPI's `libzim` writer, for kiwix-serve to serve.

Each entry is the exact HTML our server sent for that page, stored as an HTML front article at the page's
slug, compressed the way libzim does by default (zstd clusters), with a title index and the metadata
kiwix-serve lists in its catalog. kiwix-serve 3.3 names the book after the file (`<stem>`) and serves
entries at `/<stem>/<path>`.
"""

from __future__ import annotations

from pathlib import Path

from libzim.writer import Creator, Hint, Item, StringProvider


class HtmlArticle(Item):
    def __init__(self, path: str, title: str, html: bytes) -> None:
        super().__init__()
        self.path, self.title, self.html = path, title, html

    def get_path(self) -> str:
        return self.path

    def get_title(self) -> str:
        return self.title

    def get_mimetype(self) -> str:
        return "text/html"

    def get_contentprovider(self) -> StringProvider:
        return StringProvider(self.html)

    def get_hints(self) -> dict:
        return {Hint.FRONT_ARTICLE: True}


def build_zim(path: Path, articles: dict[str, bytes], main_path: str) -> Path:
    """Write `articles` (slug -> HTML bytes) to the ZIM file `path`; `main_path` is its main page."""
    with Creator(str(path)).config_indexing(True, "eng") as creator:
        creator.set_mainpath(main_path)
        metadata = {"Name": path.stem, "Title": "Commonplace benchmark", "Language": "eng",
                    "Creator": "Commonplace", "Publisher": "Commonplace benchmark", "Date": "2026-01-01",
                    "Description": "Pages rendered by Commonplace, for the page-view benchmark"}
        for key, value in metadata.items():
            creator.add_metadata(key, value)
        for slug, html in articles.items():
            creator.add_item(HtmlArticle(slug, slug, html))
    return path
