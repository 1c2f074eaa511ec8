"""What a sandboxed command sees of the machine: the system read-only, but not the user's home,
not the places where unix sockets and other users' files live (/tmp, /var/tmp, /run), not the
checkout — and, shown back read-only, what its commands need from there: a virtualenv or tool
on PATH, the files its command line names, what the policy exposes. Credential locations are
hidden again inside whatever is shown, and are never shown by a default.
"""

from __future__ import annotations

import contextlib
import functools
import os
import pwd
import shlex
import stat
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

HOST_HIDDEN = ("/tmp", "/var/tmp", "/run", "/var/run")
"""Hidden under an empty tmpfs: sockets (ssh-agent, docker, dbus, gpg-agent, X11) and files of
other programs and users live there."""

CREDENTIALS = (
    ".ssh",
    ".aws",
    ".azure",
    ".config/gcloud",
    ".config/gh",
    ".config/hub",
    ".git-credentials",
    ".gitconfig",
    ".config/git/credentials",
    ".netrc",
    ".docker",
    ".kube",
    ".gnupg",
    ".password-store",
    ".pypirc",
    ".npmrc",
    ".yarnrc",
    ".cargo/credentials",
    ".cargo/credentials.toml",
    ".gem/credentials",
    ".local/share/keyrings",
    ".terraform.d/credentials.tfrc.json",
    ".vault-token",
)
"""Relative to the user's home: never shown, even inside a path that is."""
MAX_LINKS = 500  # the links of one PATH directory looked at for where they lead


def user_homes(environ: Mapping[str, str]) -> list[Path]:
    """The user's home as the system knows it, and as $HOME says (they can differ)."""
    with contextlib.suppress(KeyError):
        return list(_homes(environ.get("HOME", ""), pwd.getpwuid(os.getuid()).pw_dir))
    return list(_homes(environ.get("HOME", ""), ""))


@functools.lru_cache(maxsize=8)
def _homes(*entries: str) -> tuple[Path, ...]:
    found: list[Path] = []
    for entry in entries:
        if entry and os.path.isabs(entry) and entry != "/":
            path = Path(entry).resolve()
            if path not in found:
                found.append(path)
    return tuple(found)


def hidden_places(environ: Mapping[str, str]) -> list[Path]:
    """The host places a sandboxed command does not see (existing ones, shallowest first)."""
    places = [Path(p) for p in HOST_HIDDEN if os.path.isdir(p) and not os.path.islink(p)]
    places += user_homes(environ)
    return sorted(dict.fromkeys(places), key=lambda p: len(p.parts))


def credentials(environ: Mapping[str, str], within: Sequence[Path] | None = None) -> list[Path]:
    """The credential locations of the user's home(s) that exist (`within`: only those inside
    one of these paths)."""
    found = []
    for home in user_homes(environ):
        names: Iterable[str] = CREDENTIALS if within is None else _credentials_in(home, within)
        found += [home / name for name in names if (home / name).exists()]
    return found


def _credentials_in(home: Path, places: Sequence[Path]) -> list[str]:
    """The names of CREDENTIALS inside one of `places` (all of them when one holds the home)."""
    names: set[str] = set()
    for place in places:
        if home.is_relative_to(place):
            return list(CREDENTIALS)
        if place.is_relative_to(home):
            inner = place.relative_to(home).as_posix()
            names.update(n for n in CREDENTIALS if n == inner or n.startswith(inner + "/"))
    return sorted(names)


def _inside(path: Path, places: Iterable[Path]) -> bool:
    return any(path == place or path.is_relative_to(place) for place in places)


COMPANIONS = {".cargo": (".rustup",), ".rustup": (".cargo",)}
"""Toolchains under a home that need another folder of it to run."""


def _root_of(target: Path, homes: Sequence[Path]) -> Path:
    """What to show for a program: under a home, the folder of the home it is installed in
    (~/.pyenv for ~/.pyenv/shims/python, ~/.local for ~/.local/bin/aider); elsewhere its
    virtualenv (a bin/ beside pyvenv.cfg), else its folder."""
    for home in homes:
        if target.is_relative_to(home) and target != home:
            return home / target.relative_to(home).parts[0]
    folder = target.parent
    if folder.name == "bin" and (folder.parent / "pyvenv.cfg").exists():
        return folder.parent
    return folder


def _venv_home(root: Path) -> Path | None:
    """The interpreter a virtualenv was made from (pyvenv.cfg's `home`), if it says."""
    try:
        lines = (root / "pyvenv.cfg").read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    for line in lines:
        key, _, value = line.partition("=")
        if key.strip() == "home" and os.path.isabs(value.strip()):
            return Path(value.strip())
    return None


SYSTEM_LINKS = ("/etc/resolv.conf",)
"""System files that may be links into a hidden place (systemd-resolved's stub in /run)."""


def needed(
    *,
    environ: Mapping[str, str],
    command: str | None,
    hidden: Sequence[Path],
    checkout: Path,
) -> list[Path]:
    """What to show back read-only of the hidden host places: the toolchains the environment
    runs from (PATH entries, the virtualenv, the Python running Conductor, where their links
    lead; under a home, the folder of the home they are installed in), the regular files the
    command line names (`command`: the user's own — an --exec command or an agent profile's,
    never a plan's verify command), and system files linked there — never a socket, never a
    credential location (they are hidden again inside what is shown), never the checkout."""
    found = list(
        _toolchains(
            environ.get("PATH", ""),
            environ.get("VIRTUAL_ENV", ""),
            environ.get("HOME", ""),
            tuple(hidden),
            checkout,
        )
    )
    for word in _words(command):
        candidate = word.split("=", 1)[1] if "=" in word and not word.startswith("/") else word
        if os.path.isabs(candidate) and os.path.isfile(candidate):  # a file: not a folder, not a socket
            for path in dict.fromkeys([Path(candidate), Path(os.path.realpath(candidate))]):
                _named(path, hidden, checkout, found)
    return found


@functools.lru_cache(maxsize=8)
def _toolchains(
    path_variable: str, venv: str, home: str, hidden: tuple[Path, ...], checkout: Path
) -> tuple[Path, ...]:
    """The toolchain part of `needed`: the same for every command of a run, so kept."""
    homes = user_homes({"HOME": home})
    found: list[Path] = []

    def add(path: Path) -> None:
        if not _inside(path, hidden) or _inside(path, [checkout]) or path in homes:
            return
        root = _root_of(path, homes) if (path.is_file() or path.name == "x" or _inside(path, homes)) else path
        if root in found:
            return
        for one in (root, *(root.parent / c for c in COMPANIONS.get(root.name, ()) if root.parent in homes)):
            if one not in found and one.exists():
                found.append(one)
                venv_home = _venv_home(one)
                if venv_home is not None:
                    add(Path(os.path.realpath(venv_home)) / "x")
                for extra in _pth_paths(one):  # as they are: a folder, not the home's
                    if (
                        _inside(extra, hidden)
                        and not _inside(extra, [checkout, *found])
                        and extra not in homes
                    ):
                        found.append(extra)

    for link in SYSTEM_LINKS:
        target = Path(os.path.realpath(link))
        if target != Path(link) and target.exists() and _inside(target, hidden):
            found.append(target)
    entries = [venv, *path_variable.split(os.pathsep), sys.executable, sys.base_prefix]
    for entry in filter(os.path.isabs, entries):
        for path in dict.fromkeys([Path(entry), Path(os.path.realpath(entry))]):
            if path.is_dir() and _inside(path, hidden):  # a system folder is seen as it is
                add(path / "x")
                _follow_links(path, add)
            elif path.exists():
                add(path)
    return tuple(found)


MAX_PTH_LINES = 200


def _pth_paths(root: Path) -> list[Path]:
    """The folders a virtualenv's .pth files add to its path (editable installs, shared
    site-packages): part of its toolchain. Lines that run code are not followed."""
    found: list[Path] = []
    for site in root.glob("lib/python*/site-packages"):
        lines = 0
        for pth in sorted(site.glob("*.pth")):
            try:
                text = pth.read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
            for line in text.splitlines():
                lines += 1
                if lines > MAX_PTH_LINES:
                    break
                entry = line.strip()
                if not entry or entry.startswith(("#", "import ", "import\t")):
                    continue
                path = Path(os.path.realpath(site / entry))
                if path.is_dir() and path not in found:
                    found.append(path)
    return found


def _words(command: str | None) -> list[str]:
    try:
        return shlex.split(command) if command else []
    except ValueError:
        return []


def _named(path: Path, hidden: Sequence[Path], checkout: Path, found: list[Path]) -> None:
    """Show one file the command names: its virtualenv when it is a program of one, else its
    folder (a script runs the files beside it) — but only the file where the folder is a home,
    a hidden place itself, or holds a socket."""
    if not _inside(path, hidden) or _inside(path, [checkout]):
        return
    folder = path.parent
    if folder.name == "bin" and (folder.parent / "pyvenv.cfg").exists():
        shown = folder.parent
    elif folder in hidden or _holds_socket(folder):
        shown = path
    else:
        shown = folder
    if shown not in found:
        found.append(shown)


def _holds_socket(folder: Path) -> bool:
    try:
        with os.scandir(folder) as listing:
            return any(stat.S_ISSOCK(item.stat(follow_symlinks=False).st_mode) for item in listing)
    except OSError:
        return True


def _follow_links(folder: Path, add: Callable[[Path], None]) -> None:
    """Where the links of a PATH folder lead (a pipx or npm bin folder links elsewhere)."""
    try:
        with os.scandir(folder) as listing:
            for number, item in enumerate(listing):
                if number >= MAX_LINKS:
                    break
                if item.is_symlink():
                    add(Path(os.path.realpath(item.path)))
    except OSError:
        return
