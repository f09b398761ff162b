"""A real JupyterLab server and a real Chromium, and what a user sees in them.

`JupyterLab` starts `jupyter lab` from this environment on a free localhost port with a random
token, in a course directory, with its own (empty) Jupyter settings, and stops it leaving no process
behind. `Notebook` drives one open notebook through JupyterLab's menus and keyboard and reads back
only what the page renders: prompts, output text, error tracebacks, images, headings.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import psutil

# Chromium, from the system's packages (Debian `chromium`); never downloaded by the tests.
CHROMIUM_CANDIDATES = (
    "/usr/lib/chromium/chromium",  # Debian's binary (/usr/bin/chromium is a shell wrapper around it)
    "chromium",
    "chromium-browser",
    "google-chrome-stable",
    "google-chrome",
)
# Quiet on a closed network: no background requests (updates, sync, QUIC probes), no first-run UI.
# Headless mode and a fresh, empty profile directory per launch come from Playwright's launch().
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 900}


def find_chromium() -> str | None:
    """The Chromium executable to drive: $CHROMIUM if set, else the first one installed."""
    override = os.environ.get("CHROMIUM")
    if override:
        return override if Path(override).is_file() else shutil.which(override)
    for candidate in CHROMIUM_CANDIDATES:
        found = candidate if Path(candidate).is_file() and os.access(candidate, os.X_OK) else shutil.which(candidate)
        if found:
            return found
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# JupyterLab user settings for the tests' private settings directory: no news pop-up over the page,
# and every cell rendered (not only those near the viewport), so the page holds the whole notebook.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false",
                                                                         "checkForUpdates": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}


# `python -m jupyterlab`, after asking Linux for SIGTERM when the test process dies (PR_SET_PDEATHSIG),
# so that even a test run killed outright leaves no server behind (its kernels follow the server).
_LAUNCH = """
import ctypes, runpy, signal, sys
try:
    ctypes.CDLL(None).prctl(1, signal.SIGTERM)
except (OSError, AttributeError):
    pass
sys.argv[0] = "jupyter-lab"
runpy.run_module("jupyterlab", run_name="__main__", alter_sys=True)
"""


class JupyterLab:
    """`jupyter lab` serving `root` on 127.0.0.1, from this environment, until stop()."""

    def __init__(self, root: Path, home: Path, env: dict[str, str] | None = None, launcher: list[str] | None = None):
        self.root = Path(root)
        self.launcher = launcher  # e.g. ["./lab.sh", root]: the command users run, instead of `python -m jupyterlab`
        self.home = Path(home)
        self.extra_env = env or {}
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.process: subprocess.Popen | None = None
        self.log_path = self.home / "jupyterlab.log"
        self.forced: list[str] = []  # processes that needed SIGKILL at stop()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str = "lab") -> str:
        return f"{self.base}/{path.lstrip('/')}{'&' if '?' in path else '?'}token={self.token}"

    def _environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("NBGRADER_EXECUTION", "JPY_SESSION_NAME")}
        bindir = str(Path(sys.executable).parent)
        env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
        for name in ("config", "data", "runtime", "settings", "workspaces"):
            (self.home / name).mkdir(parents=True, exist_ok=True)
        env.update({
            "JUPYTER_CONFIG_DIR": str(self.home / "config"),  # no user config from ~/.jupyter
            "JUPYTER_RUNTIME_DIR": str(self.home / "runtime"),
            "JUPYTERLAB_SETTINGS_DIR": str(self.home / "settings"),
            "JUPYTERLAB_WORKSPACES_DIR": str(self.home / "workspaces"),  # no restored tabs from earlier runs
            "COURSE_DEVICE": env.get("COURSE_DEVICE", "cpu"),
        })
        env.update(self.extra_env)
        for relative, value in LAB_SETTINGS.items():
            path = self.home / "settings" / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(value))
        return env

    def start(self, timeout: float = 120) -> JupyterLab:
        command = [
            *(self.launcher or [sys.executable, "-c", _LAUNCH]), "--no-browser",
            "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={self.root}",
        ]
        if os.geteuid() == 0 and not self.launcher:
            command.append("--allow-root")
        self.home.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("w") as log:
            # Its own process group (session), so stop() can signal the server and all it started.
            self.process = subprocess.Popen(command, cwd=self.root, env=self._environment(), stdout=log,
                                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with {self.process.returncode}:\n{self.log_tail()}")
            if self.status() is not None:
                return self
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"JupyterLab did not answer on {self.base} within {timeout:.0f} s:\n{self.log_tail()}")

    def status(self) -> dict | None:
        """The server's /api/status, or None while it does not answer."""
        request = urllib.request.Request(f"{self.base}/api/status", headers={"Authorization": f"token {self.token}"})
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                return json.loads(response.read())
        except OSError:
            return None

    def api(self, path: str, method: str = "GET", body: dict | None = None) -> dict | list:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.base}/{path.lstrip('/')}", data=data, method=method,
                                         headers={"Authorization": f"token {self.token}",
                                                  "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            text = response.read()
            return json.loads(text) if text else {}

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def processes(self) -> list[psutil.Process]:
        """The server and everything it started (kernels run in sessions of their own)."""
        if self.process is None:
            return []
        try:
            server = psutil.Process(self.process.pid)
            return [server, *server.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def kernels(self) -> list[psutil.Process]:
        """The server's running kernel processes; short-lived helpers it has not reaped yet are skipped."""
        return [p for p in self.processes()[1:] if is_alive(p) and "ipykernel" in command_line(p)]

    def stop(self) -> None:
        """Stop the server and every process it started; raise if any is left afterwards."""
        if self.process is None:
            return
        family = self.processes()
        group = self.process.pid  # start_new_session: the server leads its own process group
        try:
            os.killpg(group, signal.SIGTERM)  # the server shuts its kernels down on SIGTERM
        except ProcessLookupError:
            pass
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.forced.append(f"server {self.process.pid}")
            os.killpg(group, signal.SIGKILL)
            self.process.wait(timeout=10)
        _, alive = psutil.wait_procs(family, timeout=15)
        for process in alive:
            self.forced.append(f"{process.pid} {_describe(process)}")
            try:
                process.kill()
            except psutil.NoSuchProcess:
                pass
        psutil.wait_procs(alive, timeout=10)
        self.process = None
        leftover = [p for p in family if is_alive(p)] + _group_members(group)
        assert not leftover, "JupyterLab left processes behind: " + ", ".join(
            f"{p.pid} {_describe(p)}" for p in leftover)


def is_alive(process: psutil.Process) -> bool:
    """Running and not a zombie: a process that ended but is not reaped yet holds nothing."""
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _group_members(group: int) -> list[psutil.Process]:
    members = []
    for process in psutil.process_iter():
        try:
            if os.getpgid(process.pid) == group and is_alive(process):
                members.append(process)
        except (ProcessLookupError, psutil.NoSuchProcess, PermissionError):
            continue
    return members


def command_line(process: psutil.Process) -> str:
    """The full command line, or "?" once it can no longer be read (the process ended)."""
    try:
        return " ".join(process.cmdline())
    except psutil.Error:
        return "?"


def _describe(process: psutil.Process) -> str:
    return command_line(process)[:120]


# --- Reading and driving a notebook in the page ----------------------------------------------------

PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"

# Everything the page renders for each cell, in order. textContent, not innerText: the latter skips
# text the browser has not laid out (e.g. far outside the viewport).
_READ_CELLS = """(panel) => {
  const root = document.querySelector(panel);
  if (!root) return null;
  return Array.from(root.querySelectorAll('.jp-Notebook .jp-Cell')).map(cell => ({
    kind: cell.classList.contains('jp-CodeCell') ? 'code'
      : (cell.classList.contains('jp-MarkdownCell') ? 'markdown' : 'raw'),
    prompt: ((cell.querySelector('.jp-InputArea-prompt') || {}).textContent || '').trim(),
    source: ((cell.querySelector('.cm-content') || {}).innerText || ''),
    headings: Array.from(cell.querySelectorAll(
        '.jp-MarkdownOutput h1, .jp-MarkdownOutput h2, .jp-MarkdownOutput h3, .jp-MarkdownOutput h4'))
      .map(h => h.textContent.replace(/\\u00b6$/, '').trim()),
    outputs: Array.from(cell.querySelectorAll('.jp-OutputArea-output')).map(out => ({
      mime: out.getAttribute('data-mime-type') || '',
      text: out.textContent,
      images: Array.from(out.querySelectorAll('img')).map(img => ({
        complete: img.complete, width: img.naturalWidth, height: img.naturalHeight})),
    })),
  }));
}"""

_TRACEBACK = re.compile(r"(\w+)\s+Traceback \(most recent call last\)")


@dataclass
class RenderedError:
    """A traceback as JupyterLab shows it under a cell."""

    ename: str
    message: str  # what follows "ename:" on the last lines: the part a student reads
    text: str  # the whole rendered traceback

    def mentions_frame(self, function: str) -> bool:
        """Whether the traceback passes through `function` (IPython prints '..., in name(args)')."""
        return re.search(rf"\bin (?:\w+\.)*{re.escape(function)}\(", self.text) is not None


@dataclass
class RenderedCell:
    index: int
    kind: str
    prompt: str
    source: str
    headings: list[str]
    outputs: list[dict] = field(default_factory=list)

    @property
    def executed(self) -> bool:
        return bool(re.fullmatch(r"\[\d+\]:", self.prompt))

    @property
    def pending(self) -> bool:
        return self.prompt in ("[*]:", "[*]")

    @property
    def text(self) -> str:
        return "\n".join(o["text"] for o in self.outputs)

    @property
    def images(self) -> list[dict]:
        return [image for output in self.outputs for image in output["images"]]

    @property
    def errors(self) -> list[RenderedError]:
        found = []
        for output in self.outputs:
            match = _TRACEBACK.search(output["text"])
            if output["mime"] == "application/vnd.jupyter.stderr" and match:
                ename = match.group(1)
                text = output["text"]
                last = [m.end() for m in re.finditer(rf"(?m)^{re.escape(ename)}\b:?", text)]
                message = text[last[-1]:].strip() if last else ""
                found.append(RenderedError(ename, message, text))
        return found


class Notebook:
    """One notebook open in JupyterLab, driven by menus and keys, read from the rendered page."""

    def __init__(self, page, lab: JupyterLab, path: str):
        self.page = page
        self.lab = lab
        self.path = path

    def __enter__(self) -> Notebook:
        return self.open()

    def __exit__(self, *exc) -> None:
        self.shutdown()

    def shutdown(self) -> None:
        """Shut down this notebook's kernel (as File > Close and Shut Down Notebook does)."""
        for session in self.lab.api("api/sessions"):
            if session.get("path", "").endswith(self.path):
                self.lab.api(f"api/sessions/{session['id']}", "DELETE")

    def open(self, timeout: float = 120) -> Notebook:
        # ?reset: a fresh workspace, so the tabs of notebooks opened earlier on this server are not restored
        self.page.goto(self.lab.url(f"lab/tree/{self.path}?reset"))
        self.page.wait_for_selector(f"{PANEL} .jp-Notebook .jp-Cell", timeout=timeout * 1000)
        self.wait_for_kernel(timeout)
        return self

    def wait_for_kernel(self, timeout: float = 120) -> None:
        """Until the notebook's toolbar shows its kernel idle."""
        self.page.wait_for_selector(f"{PANEL} .jp-Notebook-ExecutionIndicator[data-status='idle']",
                                    timeout=timeout * 1000, state="attached")

    def cells(self) -> list[RenderedCell]:
        raw = self.page.evaluate(_READ_CELLS, PANEL) or []
        return [RenderedCell(i, c["kind"], c["prompt"], c["source"], c["headings"], c["outputs"])
                for i, c in enumerate(raw)]

    def menu(self, menu: str, command: str) -> None:
        """Click a menu of JupyterLab's menu bar, then one of its items (by its command id)."""
        self.page.locator("#jp-MainMenu .lm-MenuBar-itemLabel", has_text=re.compile(f"^{re.escape(menu)}$")).click()
        self.page.locator(f".lm-Menu-item[data-command='{command}']:not(.lm-mod-disabled)").first.click()

    def select(self, index: int) -> None:
        """Select a cell as a user does, by clicking its prompt area (command mode)."""
        cell = self.page.locator(f"{PANEL} .jp-Notebook .jp-Cell").nth(index)
        cell.scroll_into_view_if_needed()
        cell.locator(".jp-InputPrompt").first.click()

    def _run(self, action, watch: int, timeout: float, retries: int = 2) -> None:
        """Do `action`, then wait until cell `watch` has run and nothing is queued or running.

        If nothing at all happened 20 s later (no cell queued, the kernel idle), the click or key
        press was lost (the page was still busy); it is then repeated, at most `retries` times.
        """
        before = self.cells()[watch].prompt
        action()
        started_at = time.monotonic()
        deadline = started_at + timeout
        started = False
        while time.monotonic() < deadline:
            cells = self.cells()
            started = started or cells[watch].pending or (cells[watch].executed and cells[watch].prompt != before)
            if started and not any(c.pending for c in cells) and self._idle():
                return
            if not started and retries and time.monotonic() - started_at > 20 and self._idle():
                retries -= 1
                self.select(watch)
                action()
                started_at = time.monotonic()
            time.sleep(0.5)
        raise TimeoutError(f"{self.path}: cells still running after {timeout:.0f} s" if started else
                           f"{self.path}: nothing ran (cell {watch} shows {self.cells()[watch].prompt!r})")

    def _idle(self) -> bool:
        return self.page.locator(f"{PANEL} .jp-Notebook-ExecutionIndicator[data-status='idle']").count() > 0

    def run_all(self, timeout: float = 600) -> None:
        """Run > Run All Cells. JupyterLab stops at the first cell that raises, as students see."""
        first = next(c.index for c in self.cells() if c.kind == "code")
        self.select(first)  # the notebook is the active document the Run menu acts on
        self._run(lambda: self.menu("Run", "runmenu:run-all"), first, timeout)

    def run_from(self, index: int, timeout: float = 600) -> None:
        """Select a cell, then Run > Run Selected Cell and All Below."""
        self.select(index)
        self._run(lambda: self.menu("Run", "notebook:run-all-below"), index, timeout)

    def run_every_cell(self, timeout: float = 900) -> list[int]:
        """Run All, then after each stop carry on below the failing cell, until every code cell ran.

        Returns the indices of the cells where execution stopped.
        """
        deadline = time.monotonic() + timeout
        self.run_all(timeout)
        stops = []
        while True:
            cells = self.cells()
            waiting = [c.index for c in cells if c.kind == "code" and not c.executed]
            if not waiting:
                return stops
            stopped = max((c.index for c in cells if c.kind == "code" and c.executed and c.index < waiting[0]),
                          default=None)
            assert stopped is not None and cells[stopped].errors, (
                f"{self.path}: cell {waiting[0]} did not run, but no cell above it shows an error")
            stops.append(stopped)
            self.run_from(waiting[0], max(1.0, deadline - time.monotonic()))

    def run_cell(self, index: int, timeout: float = 300) -> RenderedCell:
        """Select a cell and run it with Ctrl+Enter (run, stay)."""
        self.select(index)
        self._run(lambda: self.page.keyboard.press("Control+Enter"), index, timeout)
        return self.cells()[index]

    def replace_source(self, index: int, text: str) -> None:
        """Click into a cell's editor, select everything, and type `text` over it (pasted, as-is)."""
        cell = self.page.locator(f"{PANEL} .jp-Notebook .jp-Cell").nth(index)
        cell.scroll_into_view_if_needed()
        cell.locator(".cm-content").click()
        self.page.keyboard.press("Control+A")
        self.page.keyboard.insert_text(text)
        self.page.keyboard.press("Escape")

    def append_cell(self, text: str) -> int:
        """Select the last cell, insert a code cell below it (key B) and type `text`; its index."""
        count = len(self.cells())
        self.select(count - 1)
        self.page.keyboard.press("b")
        self.page.wait_for_function(
            "([panel, n]) => document.querySelectorAll(panel + ' .jp-Notebook .jp-Cell').length > n",
            arg=[PANEL, count])
        self.replace_source(count, text)
        return count

    def save(self, timeout: float = 30) -> None:
        """File > Save Notebook, then wait until the tab no longer shows unsaved changes."""
        self.menu("File", "docmanager:save")
        self.page.wait_for_function(
            "() => !document.querySelector('.lm-TabBar-tab.jp-mod-current.jp-mod-dirty')", timeout=timeout * 1000)

    def hide_sidebar(self) -> None:
        """View > Appearance > Show Left Sidebar off, for a wider notebook in screenshots."""
        self.page.evaluate("() => document.activeElement && document.activeElement.blur()")
        if self.page.locator("#jp-left-stack:not(.lm-mod-hidden)").count():
            self.page.keyboard.press("Control+B")
            self.page.wait_for_selector("#jp-left-stack.lm-mod-hidden", state="attached")

    def screenshot(self, path: Path, at: int | None = None) -> Path:
        """Save what the window shows, with cell `at` scrolled to the top."""
        if at is not None:
            self.page.locator(f"{PANEL} .jp-Notebook .jp-Cell").nth(at).evaluate(
                "el => el.scrollIntoView({block: 'start'})")
            self.page.wait_for_timeout(300)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(path))
        return path
