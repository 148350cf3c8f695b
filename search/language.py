"""Whether a query is English, which is all the meaning model (all-MiniLM-L6-v2) understands.

A query in another language gets word matches only, with OTHER_LANGUAGE_NOTICE (issue 12 item 6): its vector
would land near unrelated English pages and drag them into the results. Two signals, both cheap and offline:

- the script: a query whose words are mostly not Latin (CJK, Arabic, Cyrillic, Devanagari, Greek, ...);
- for Latin script, the small words every sentence of a language uses and English does not ("jinsi", "ya",
  "cómo", "un", "wie", "ich"), and letters with diacritics, against English's own small words.

Short queries of names and commands ("docker compose", "grpe") carry neither signal and stay English. Measured
on the tldr development questions, SciFact's queries and tldr's example descriptions: no English text is taken
for another language (tests/search/test_languages.py holds the foreign queries it is checked on).
"""

from __future__ import annotations

import re

from search import tokenizer
from search.ranking import STOPWORDS

OTHER_LANGUAGE_NOTICE = "Search by meaning understands English only; showing pages that contain your words."

# Small words of some languages written in Latin script, without those that are also English words or that
# English technical and scientific text uses ("de novo", "et al.", "IL-6", "ES cells", "Na+", "os", "ini", "MIT",
# `su`, `du`, "per", "non"): each list was checked against English questions, SciFact's claims and tldr's
# descriptions.
_FOREIGN_WORDS = {
    "swahili": """ya wa kwa za cha vya katika je gani jinsi nini vipi kuna hii hiyo huu kama lakini pia sana yangu
        yako kwenye mimi wewe yeye sisi ndani bila kutoka hadi mpaka kila baada kabla ili nataka naweza ninawezaje
        unawezaje nitawezaje kufanya kufuta kuona zote wote moja faili programu amri folda""",
    "spanish": """el los las una unos unas que qué cómo como dónde donde cuál cuándo cuando por para pero está
        están mis tus sus este esta estos esto ese muy más también puedo puede quiero todos archivo archivos
        hacer borrar eliminar un proceso procesos carpeta buscar cambiar ver""",
    "french": """le les une des dans avec sur qui quoi où je nous vous ils elle elles mes ta tes ses cette ces
        pas un fichier fichiers faire peux puis veux supprimer afficher chercher trouver""",
    "german": """der das ein eine einen einem einer und oder sind wie wo warum ich wir ihr zu für auf bei nach
        nicht auch kann können möchte datei dateien löschen mein meine meinen wird werden sich ohne über alle
        vom zum zur eines allen anzeigen suchen finden beenden erstellen öffnen ändern umbenennen ordner befehl
        befehle""",
    "portuguese": """uma das em que como para por é não meu minha arquivo fazer posso quero onde qual isso esse
        essa""",
    "italian": """gli uno una di della che sono mio mia posso voglio quale cosa questo questa""",
    "dutch": """het een ik wat waar niet voor aan deze dit kan wil mijn bestand verwijderen maken zijn ook""",
    "indonesian": """yang di ke dari itu untuk dengan tidak bagaimana cara saya bisa akan menghapus berkas""",
}
# English words among the lists above, and the English small words that count against them.
_ENGLISH = STOPWORDS | frozenset("""
comment file use using get set show find make list run change open see want need way like
""".split())
FOREIGN_WORDS = frozenset(w for words in _FOREIGN_WORDS.values() for w in words.split()) - _ENGLISH
_LETTERS = re.compile(r"[^\W\d_]+")


def _is_latin(char: str) -> bool:
    """Latin letters: Basic Latin to Latin Extended-B, Latin Extended Additional, full-width Latin."""
    code = ord(char)
    return code < 0x250 or 0x1E00 <= code < 0x1F00 or 0xFF21 <= code <= 0xFF5A


def _has_diacritic(word: str) -> bool:
    """A Latin letter beyond ASCII (é, ñ, ü, ß, ơ), which English words rarely have."""
    return any(0x80 <= ord(ch) < 0x250 or 0x1E00 <= ord(ch) < 0x1F00 for ch in word)


def script_words(query: str) -> tuple[int, int]:
    """(Latin words, other-script words) in the query; a CJK run counts as one word per two characters."""
    latin = other = 0
    for is_cjk, piece in tokenizer.split_runs(query):
        if is_cjk:
            other += max(1, len(piece) // 2)
            continue
        for word in _LETTERS.findall(piece):
            if all(_is_latin(ch) for ch in word):
                latin += 1
            else:
                other += 1
    return latin, other


def is_other_language(query: str) -> bool:
    """True when the query is not English: mostly another script, or a Latin-script language's small words."""
    latin, other = script_words(query)
    if other and other >= latin:
        return True
    words = {w for w in _LETTERS.findall(query.lower()) if all(_is_latin(ch) for ch in w)}
    # A name with an accent ("Vladović") is not enough alone: such a word counts half.
    foreign = sum(1.0 if w in FOREIGN_WORDS else 0.5 for w in words if w in FOREIGN_WORDS or _has_diacritic(w))
    english = sum(1 for w in words if w in _ENGLISH)
    return foreign >= 1 and foreign > english


def meaning_applies(query: str) -> bool:
    """Whether search by meaning (an English-only model) can serve this query."""
    return not is_other_language(query)
