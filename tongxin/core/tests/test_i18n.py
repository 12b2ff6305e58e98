"""The English catalogue (locale/en/LC_MESSAGES) is complete, compiled, and used on request.

Source strings are Simplified Chinese; English is chosen with the footer language switcher
(`django_language` cookie) or the browser's Accept-Language. Refresh: `make messages`.
"""

from __future__ import annotations

import ast
import gettext
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

CATALOGUE = Path(settings.BASE_DIR) / "locale" / "en" / "LC_MESSAGES"
PLACEHOLDER = re.compile(r"%\(\w+\)[sdif]|%[sdif]|\{\{\s*\w+\s*\}\}")


@dataclass
class Entry:
    msgid: str = ""
    msgid_plural: str | None = None
    msgctxt: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    line: int = 0


def parse_po(path: Path) -> list[Entry]:
    """A small reader for the .po subset makemessages writes (no polib in the project)."""
    entries: list[Entry] = []
    current = Entry()
    target: tuple[str, int | None] | None = None

    def finish() -> None:
        nonlocal current, target
        if target is not None:
            entries.append(current)
        current, target = Entry(), None

    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line:
            finish()
        elif line.startswith("#~"):
            continue  # obsolete (makemessages --no-obsolete should leave none)
        elif line.startswith("#,"):
            if target is not None and target[0] == "msgstr":
                finish()
            current.flags |= {f.strip() for f in line[2:].split(",")}
        elif line.startswith("#"):
            if target is not None and target[0] == "msgstr":
                finish()
        elif line.startswith('"'):
            assert target is not None, f"{path}:{number}: continuation without a keyword"
            _append(current, target, ast.literal_eval(line))
        else:
            keyword, _, rest = line.partition(" ")
            if keyword in ("msgctxt", "msgid") and target is not None and target[0] == "msgstr":
                finish()
            match = re.fullmatch(r"msgstr\[(\d+)\]", keyword)
            if match:
                target = ("msgstr", int(match.group(1)))
            elif keyword in ("msgctxt", "msgid", "msgid_plural", "msgstr"):
                target = (keyword, None)
            else:
                raise AssertionError(f"{path}:{number}: unexpected line {raw!r}")
            if keyword == "msgid":
                current.line = number
            _append(current, target, ast.literal_eval(rest), start=True)
    finish()
    return entries


def _append(entry: Entry, target: tuple[str, int | None], text: str, start: bool = False) -> None:
    name, index = target
    if name == "msgstr":
        key = index or 0
        entry.msgstr[key] = ("" if start else entry.msgstr.get(key, "")) + text
    else:
        setattr(entry, name, ("" if start else getattr(entry, name) or "") + text)


def reviewed(entries: list[Entry]) -> list[Entry]:
    """Translated, non-fuzzy messages (the rest is reported by the completeness test)."""
    return [
        e
        for e in entries[1:]
        if "fuzzy" not in e.flags and e.msgstr and all(s.strip() for s in e.msgstr.values())
    ]


@pytest.fixture(scope="module")
def catalogue() -> list[Entry]:
    entries = parse_po(CATALOGUE / "django.po")
    assert entries and entries[0].msgid == "", "the catalogue starts with its header"
    return entries


@pytest.fixture(autouse=True)
def _restore_language():
    """Requests below activate English in this thread; leave the default for the next test."""
    with translation.override(translation.get_language()):
        yield


def test_catalogue_header_is_english_with_two_plural_forms(catalogue):
    header = catalogue[0]
    assert "fuzzy" not in header.flags
    assert "Language: en\n" in header.msgstr[0]
    assert "Plural-Forms: nplurals=2; plural=(n != 1);" in header.msgstr[0]


def test_every_entry_is_translated_and_reviewed(catalogue):
    messages = catalogue[1:]
    assert len(messages) > 500, "makemessages found the project's strings"
    fuzzy = [e.msgid for e in messages if "fuzzy" in e.flags]
    untranslated = [
        e.msgid
        for e in messages
        if not e.msgstr
        or any(not s.strip() for s in e.msgstr.values())
        or (e.msgid_plural is not None and sorted(e.msgstr) != [0, 1])
    ]
    assert not fuzzy, f"fuzzy entries (review, then drop the flag): {fuzzy}"
    assert not untranslated, f"untranslated entries: {untranslated}"


def test_translations_keep_every_placeholder(catalogue):
    # Same placeholders, and no stray "%": a lone percent sign in a string that the code
    # formats with % raises at run time, in English only.
    wrong = []
    for e in reviewed(catalogue):
        want = sorted(PLACEHOLDER.findall(e.msgid))
        for s in e.msgstr.values():
            if sorted(PLACEHOLDER.findall(s)) != want or s.count("%") != e.msgid.count("%"):
                wrong.append((e.msgid, s))
    assert not wrong


def test_translations_are_english(catalogue):
    # Chinese may remain only where it is copied from the source string on purpose: the
    # language switcher names Chinese in Chinese (so Chinese readers can always switch back),
    # and import help shows real place names as examples of what to type.
    han = re.compile(r"[\u4e00-\u9fff]+")
    full_width = re.compile(r"[\u3000-\u303f\uff00-\uffef“”‘’]")
    leftovers = [
        (e.msgid, s)
        for e in reviewed(catalogue)
        for s in e.msgstr.values()
        if full_width.search(s) or any(run not in e.msgid for run in han.findall(s))
    ]
    assert not leftovers


def test_compiled_catalogue_matches_the_po_file(catalogue):
    """django.mo is what Django reads: it must be rebuilt whenever django.po changes."""
    with (CATALOGUE / "django.mo").open("rb") as mo:
        compiled = gettext.GNUTranslations(mo)
    stale = []
    for e in reviewed(catalogue):
        msgid = e.msgid if e.msgctxt is None else f"{e.msgctxt}\x04{e.msgid}"
        if e.msgid_plural is None:
            got = [compiled.gettext(msgid)]
        else:
            got = [compiled.ngettext(msgid, e.msgid_plural, n) for n in (1, 2)]
        if got != [e.msgstr[k] for k in sorted(e.msgstr)]:
            stale.append(e.msgid)
    assert not stale, "run `make messages` (compilemessages) to rebuild django.mo"


# --- the catalogue in use ---------------------------------------------------------------------


def _english_by_cookie(client) -> None:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


def _english_by_header(client) -> None:
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


ENGLISH = pytest.mark.parametrize(
    "choose_english", [_english_by_cookie, _english_by_header], ids=["cookie", "accept-language"]
)


@ENGLISH
def test_signed_in_page_in_english(client, people, choose_english):
    choose_english(client)
    client.force_login(people.community_admin)
    html = client.get(reverse("core:home")).content.decode()
    assert '<html lang="en"' in html
    for english in ("Organization", "Resident units", "Part-time committee members", "Sign out"):
        assert english in html
    for chinese in ("组织体系", "驻区单位", "兼职委员", "退出登录"):
        assert chinese not in html


@ENGLISH
def test_login_page_in_english(client, choose_english):
    choose_english(client)
    html = client.get(reverse("accounts:login")).content.decode()
    assert '<html lang="en"' in html
    for english in ("Username", "Password", "Sign in", "Tongxin · Smart Party-Building Platform"):
        assert english in html
    assert "用户名" not in html
    assert "登录" not in html


def test_wrong_sign_in_explained_in_english(client, people):
    _english_by_cookie(client)
    response = client.post(
        reverse("accounts:login"), {"username": "wang_wenxian", "password": "wrong"}
    )
    assert "Incorrect username or password." in response.content.decode()


def test_language_switcher_sets_english(client, people):
    client.force_login(people.community_admin)
    home = reverse("core:home")
    response = client.post(reverse("set_language"), {"language": "en", "next": home})
    assert response.status_code == 302
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    assert "Organization" in client.get(home).content.decode()


def test_chinese_by_default(client, people):
    login = client.get(reverse("accounts:login")).content.decode()
    assert '<html lang="zh-hans"' in login
    assert "用户名" in login
    assert "Username" not in login
    client.force_login(people.community_admin)
    html = client.get(reverse("core:home")).content.decode()
    assert '<html lang="zh-hans"' in html
    assert "组织体系" in html
    assert "Organization" not in html
