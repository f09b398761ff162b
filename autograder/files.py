"""Reading what students hand in without trusting it: regular files only, never a link followed, never
a FIFO or device opened (which could hang the batch or read something else), bounded sizes; and the
student ids nbgrader could misread as a glob or a path, refused.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

MAX_FILE_BYTES = 64 * 2**20  # a notebook or timestamp larger than this is refused, not read
# Ids nbgrader can use as a folder name and in its globs: no glob characters, separators, dot-first names,
# spaces or control characters, nothing a spreadsheet would run as a formula.
_SAFE_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.@+\-]{0,127}")


# Files a browser runs scripts in when opened (feedback/ and autograded/ are opened in the instructor's and the
# students' browsers): what a notebook writes under these names is never kept.
ACTIVE_CONTENT = (".html", ".htm", ".xhtml", ".xht", ".shtml", ".mhtml", ".mht", ".svg", ".svgz", ".xml", ".xsl",
                  ".xslt", ".js", ".mjs")
GRADER_FILES = ("timestamp.txt",)  # read by the grader: never replaced by what a notebook wrote


def kept_output_problem(relative: str) -> str:
    """'' when a file a notebook wrote (`relative` to the notebook's folder) may be kept in autograded/, from
    where nbgrader copies it into feedback/; else why it is not kept. Notebooks are never copied back."""
    name = Path(relative).name.lower()
    if relative in GRADER_FILES:
        return "is the grader's own file, not replaced by one the notebook wrote"
    if name.endswith(".ipynb"):
        return "is a notebook: notebooks are never replaced by what a notebook wrote"
    if name.endswith(ACTIVE_CONTENT):
        return "is a kind of file a browser runs scripts in (HTML, SVG, XML, JavaScript): it is not kept"
    return ""


class UnsafeFile(OSError):
    """A path the grader does not read: a link, not a regular file, too large, or unreadable."""


def student_id_problem(student: str) -> str:
    """'' for an id the grader can use, else why it is refused."""
    if not _SAFE_ID.fullmatch(student) or ".." in student:
        return (f"the student id {student!r} is refused: ids may hold letters, digits and _ . @ + - only, and "
                "must not start with . or - (nbgrader would read other characters as a pattern or a path)")
    return ""


def kind_of(mode: int) -> str:
    for test, name in ((stat.S_ISREG, "file"), (stat.S_ISDIR, "folder"), (stat.S_ISLNK, "symbolic link"),
                       (stat.S_ISFIFO, "FIFO"), (stat.S_ISSOCK, "socket"), (stat.S_ISCHR, "device"),
                       (stat.S_ISBLK, "device")):
        if test(mode):
            return name
    return "special file"


def folder_problem(folder: Path, stop: Path) -> str:
    """'' when `folder` and every folder between it and `stop` are real folders, else what is wrong."""
    current = folder
    while True:
        try:
            mode = os.lstat(current).st_mode
        except FileNotFoundError:
            return f"{current.name} does not exist"
        except OSError as error:
            return f"{current.name} cannot be read: {error.strerror}"
        if not stat.S_ISDIR(mode):
            return f"{current} is a {kind_of(mode)}, not a folder: it is not read"
        if current == stop or current.parent == current:
            return ""
        current = current.parent


@dataclass(frozen=True)
class Entry:
    name: str
    kind: str  # "file", "folder", "symbolic link", "FIFO", ...
    size: int
    links: int


def entries(folder: Path) -> dict[str, Entry]:
    """What a folder holds, by name, read with lstat (nothing is followed or opened)."""
    found = {}
    try:
        with os.scandir(folder) as listing:
            for item in listing:
                info = item.stat(follow_symlinks=False)
                found[item.name] = Entry(item.name, kind_of(info.st_mode), info.st_size, info.st_nlink)
    except OSError:
        return {}
    return found


def read_regular(path: Path, limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of a regular file; UnsafeFile for a link, a FIFO, a device, a folder or a file over `limit`."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as error:
        if error.errno in (40, 62):  # ELOOP: the last part of the path is a symbolic link
            raise UnsafeFile(error.errno, f"{path.name} is a symbolic link: it is not read") from None
        raise UnsafeFile(error.errno, f"{path.name} cannot be read: {error.strerror}") from None
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            raise UnsafeFile(0, f"{path.name} is a {kind_of(info.st_mode)}, not a regular file: it is not read")
        if info.st_size > limit:
            raise UnsafeFile(0, f"{path.name} has {info.st_size:,} bytes, more than the {limit:,} the grader reads")
        chunks, total = [], 0
        while chunk := os.read(descriptor, 1 << 20):
            total += len(chunk)
            if total > limit:
                raise UnsafeFile(0, f"{path.name} grew past {limit:,} bytes while it was read")
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(descriptor)


def fingerprint(folder: Path) -> str:
    """A hash of what was handed in (names, kinds, contents of regular files), so a resubmission is graded
    again on resume; reads nothing but regular files."""
    digest = hashlib.sha256()

    def walk(current: Path, prefix: str, depth: int) -> None:
        for name, entry in sorted(entries(current).items()):
            digest.update(f"{prefix}{name}\0{entry.kind}\0".encode())
            if entry.kind == "file":
                try:
                    digest.update(read_regular(current / name))
                except UnsafeFile as error:
                    digest.update(str(error).encode())
            elif entry.kind == "folder" and depth < 8:
                walk(current / name, f"{prefix}{name}/", depth + 1)

    if folder_problem(folder, folder) == "":
        walk(folder, "", 0)
    return digest.hexdigest()
