"""The sandbox's pieces: what bubblewrap shows a kernel, the seccomp filter, the capability drop.

The whole sandbox is attacked with real submissions in `test_redteam.py`; these tests pin its parts.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import autograder
from autograder.sandbox import bubblewrap, linux
from autograder.sandbox.settings import Sandbox


def binds(spec: dict) -> dict[str, str]:
    """destination -> option of every bind in a sandbox spec."""
    return {dest: option for option, _, dest in spec["binds"]}


def test_a_kernel_sees_the_environment_and_its_own_folders_read_only_or_its_own(tmp_path):
    runtime, scratch = tmp_path / "runtime", tmp_path / "scratch"
    sandbox = Sandbox()
    spec = bubblewrap.spec(sandbox, readable=sandbox.readable_roots(), writable=[runtime, scratch], chdir=scratch,
                           env={"HOME": "/tmp"}, use_gpu=False, template=False)
    shown = binds(spec)
    assert shown[str(runtime)] == "--bind" and shown[str(scratch)] == "--bind"
    assert shown[str(Path(sys.prefix).resolve())] == "--ro-bind"
    assert shown[str(Path(autograder.__file__).resolve().parent)] == "--ro-bind"
    repository = Path(autograder.__file__).resolve().parents[1]
    assert str(repository) not in shown and str(Path.home()) not in shown, "the course folder or HOME is visible"
    assert not any(dest.startswith(str(repository / "source")) for dest in shown)
    assert "/etc/shadow" not in shown and "/etc" not in shown
    for option in ("--unshare-net", "--unshare-pid", "--unshare-ipc", "--clearenv", "--as-pid-1"):
        assert option in spec["options"]
    assert spec["options"][spec["options"].index("--cap-drop") + 1] == "ALL"
    assert "--cap-add" not in spec["options"], "a kernel started directly keeps no capability"
    shm = spec["mounts"].index("/dev/shm")
    assert spec["mounts"][shm - 3: shm] == ["--size", str(sandbox.shm_size), "--tmpfs"], "/dev/shm is bounded"


def test_only_the_template_keeps_the_two_capabilities_it_needs_to_isolate_kernels(tmp_path):
    sandbox = Sandbox()
    spec = bubblewrap.spec(sandbox, readable=[], writable=[], chdir=Path("/"), env={}, use_gpu=False, template=True)
    added = [spec["options"][i + 1] for i, option in enumerate(spec["options"]) if option == "--cap-add"]
    assert added == ["CAP_SYS_ADMIN", "CAP_SETPCAP"]


def test_as_root_the_sandbox_user_is_nobody_on_the_host():
    sandbox = Sandbox()
    assert sandbox.sandbox_uid() == (65534 if os.geteuid() == 0 else None)


def test_the_environment_is_an_allowlist(monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "do-not-leak")
    monkeypatch.setenv("COURSE_DEVICE", "cpu")
    env = Sandbox().kernel_environment({"EXTRA": "1"})
    assert "AWS_SECRET_ACCESS_KEY" not in env and env["COURSE_DEVICE"] == "cpu" and env["EXTRA"] == "1"
    assert env["HOME"] == "/tmp" and "PYTHONPATH" not in env


def _in_child(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          cwd=Path(autograder.__file__).resolve().parents[1])


@pytest.mark.skipif(sys.platform != "linux", reason="seccomp is Linux's")
def test_the_seccomp_filter_refuses_namespaces_and_mounts_but_not_processes_and_threads():
    done = _in_child("""
import errno, subprocess, threading
from autograder.sandbox import linux
linux.install_seccomp()
for call in (lambda: linux.unshare(linux.CLONE_NEWUSER), lambda: linux.unshare(linux.CLONE_NEWNS),
             lambda: linux.mount('tmpfs', '/mnt', 'tmpfs')):
    try:
        call(); print('ALLOWED')
    except OSError as error:
        print('refused' if error.errno == errno.EPERM else error)
print(subprocess.run(['sh', '-c', 'echo forked'], capture_output=True, text=True).stdout.strip())
print(subprocess.run(['unshare', '-U', 'true'], capture_output=True).returncode)
t = threading.Thread(target=lambda: print('thread')); t.start(); t.join()
""")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["refused", "refused", "refused", "forked", "1", "thread"], done.stdout


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can drop capabilities it has")
def test_dropping_capabilities_leaves_none():
    done = _in_child("from autograder.sandbox import linux; linux.drop_capabilities(); print(linux.capability_sets())")
    assert done.returncode == 0, done.stderr
    assert "'CapEff': 0" in done.stdout and "'CapBnd': 0" in done.stdout and "'CapPrm': 0" in done.stdout


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("bwrap") is None, reason="needs root and bubblewrap")
def test_bubblewrap_works_here_as_it_is_used():
    assert bubblewrap.works(shutil.which("bwrap"), Sandbox().sandbox_uid()) == ""


def test_the_seccomp_program_is_well_formed_for_both_processors():
    for machine in ("x86_64", "aarch64"):
        program = linux.seccomp_program(machine)
        assert program[-1] == (0x06, 0, 0, 0x7FFF0000), "it ends by allowing every other call"
        assert len(linux.pack_seccomp(program)) == 8 * len(program)


MAKE_POOL_AND_WAIT = """
import sys, time
from autograder.sandbox.manager import KernelPool
print(KernelPool.create(None).root, flush=True)
time.sleep(600)
"""


def test_the_pool_of_a_process_killed_outright_is_removed_by_the_next_run_and_a_live_ones_is_kept(tmp_path):
    from autograder.sandbox.manager import reap_abandoned_pools

    env = {**os.environ, "TMPDIR": str(tmp_path)}
    killed = subprocess.Popen([sys.executable, "-c", MAKE_POOL_AND_WAIT], stdout=subprocess.PIPE, text=True, env=env)
    alive = subprocess.Popen([sys.executable, "-c", MAKE_POOL_AND_WAIT], stdout=subprocess.PIPE, text=True, env=env)
    try:
        killed_pool, alive_pool = Path(killed.stdout.readline().strip()), Path(alive.stdout.readline().strip())
        (killed_pool / "scratch" / "kernel-left").mkdir()
        unrecorded = tmp_path / "autograder-pool-unrecorded"  # no owner file: whose it is cannot be told
        unrecorded.mkdir()
        killed.kill()
        killed.wait()
        assert killed_pool.exists() and alive_pool.exists()
        assert reap_abandoned_pools(str(tmp_path)) == [killed_pool]
        assert not killed_pool.exists() and alive_pool.exists() and unrecorded.exists()
    finally:
        for process in (killed, alive):
            process.kill()
            process.wait()


def test_kernel_usage_adds_up_a_working_folder_and_stops_at_the_limit(tmp_path):
    from autograder.sandbox.template import DISK_EXIT_CODE, MAX_FOLDER_ENTRIES, KernelUsage

    (tmp_path / "sub").mkdir()
    (tmp_path / "a.bin").write_bytes(b"x" * 300_000)
    (tmp_path / "sub" / "b.bin").write_bytes(b"x" * 300_000)
    usage = KernelUsage({"memory": 0, "tmp": 500_000}, str(tmp_path))
    assert 600_000 <= usage.written() < 700_000
    assert usage.over_limit() == DISK_EXIT_CODE
    assert usage.over_limit() is None, "measured at most every INTERVAL seconds"
    roomy = KernelUsage({"memory": 0, "tmp": 10_000_000}, str(tmp_path))
    assert roomy.over_limit() is None
    assert MAX_FOLDER_ENTRIES >= 10_000, "ordinary data folders are far below it"


def test_kernel_usage_counts_resident_memory_of_other_processes():
    import subprocess
    import sys

    from autograder.sandbox.template import MEMORY_EXIT_CODE, KernelUsage

    child = subprocess.Popen([sys.executable, "-c", "import time; a = b'1' * (200 * 2**20); time.sleep(30)"])
    try:
        usage = KernelUsage({"memory": 100 * 2**20, "tmp": 0}, None)
        deadline = __import__("time").monotonic() + 20
        while usage.resident() < 200 * 2**20 and __import__("time").monotonic() < deadline:
            __import__("time").sleep(0.2)
        assert usage.resident() >= 200 * 2**20
        usage.checked = 0.0
        assert usage.over_limit() == MEMORY_EXIT_CODE
    finally:
        child.kill()
        child.wait()
