"""Linux primitives the sandbox needs and Python 3.11 lacks: namespaces, mounts, capabilities, seccomp.

Standard library only (ctypes); used by the trusted processes that set a kernel's sandbox up, never
by student code. Every call raises OSError with the failing operation's name on error.
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import struct

_libc = ctypes.CDLL(None, use_errno=True)

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
CLONE_NEWCGROUP = 0x02000000
NAMESPACE_FLAGS = (CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET
                   | CLONE_NEWCGROUP)

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
MNT_DETACH = 2

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
PR_SET_SECCOMP = 22
CAP_SETPCAP = 8
SECCOMP_MODE_FILTER = 2


def _check(result: int, what: str) -> int:
    if result == -1:
        code = ctypes.get_errno()
        raise OSError(code, f"{what}: {os.strerror(code)}")
    return result


def unshare(flags: int) -> None:
    _check(_libc.unshare(ctypes.c_int(flags)), "unshare")


def mount(source: str | None, target: str, fstype: str | None, flags: int = 0, data: str | None = None) -> None:
    def encode(text: str | None) -> bytes | None:
        return None if text is None else text.encode()

    _check(_libc.mount(encode(source), encode(target), encode(fstype), ctypes.c_ulong(flags), encode(data)),
           f"mount {target}")


def umount(target: str, flags: int = MNT_DETACH) -> None:
    _check(_libc.umount2(target.encode(), ctypes.c_int(flags)), f"umount {target}")


def prctl(option: int, arg2: int = 0, arg3: int = 0, arg4: int = 0, arg5: int = 0) -> int:
    return _check(_libc.prctl(ctypes.c_int(option), ctypes.c_ulong(arg2), ctypes.c_ulong(arg3),
                              ctypes.c_ulong(arg4), ctypes.c_ulong(arg5)), f"prctl {option}")


def set_dumpable(dumpable: bool) -> None:
    """A non-dumpable process's memory and /proc files are closed to processes of the same user."""
    prctl(PR_SET_DUMPABLE, int(dumpable))


def die_with_parent(signal_number: int = 9) -> None:
    prctl(PR_SET_PDEATHSIG, signal_number)


def last_capability() -> int:
    try:
        with open("/proc/sys/kernel/cap_last_cap") as handle:
            return int(handle.read())
    except OSError:
        return 40


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def drop_capabilities() -> None:
    """No capability left in the ambient, effective, permitted and inheritable sets, nor (where this
    process may change it) in the bounding set; and no way back: no_new_privs is set, so no later
    execve can grant one."""
    prctl(PR_SET_NO_NEW_PRIVS, 1)
    try:
        prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)
    except OSError as error:
        if error.errno != errno.EINVAL:  # kernels without ambient capabilities
            raise
    if capability_sets().get("CapEff", 0) & (1 << CAP_SETPCAP):
        for capability in range(last_capability() + 1):
            try:
                prctl(PR_CAPBSET_DROP, capability)
            except OSError as error:
                if error.errno != errno.EINVAL:
                    raise
    header = _CapHeader(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3
    data = (_CapData * 2)()
    _check(_libc.capset(ctypes.byref(header), data), "capset")
    left = {name: value for name, value in capability_sets().items() if name != "CapBnd" and value}
    if left:
        raise OSError(errno.EPERM, f"capabilities remain after dropping them: {left}")


def capability_sets() -> dict[str, int]:
    """This process's capability sets as /proc/self/status reports them."""
    found = {}
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("Cap"):
                name, value = line.split(":")
                found[name] = int(value.strip(), 16)
    return found


# --- seccomp: the system calls a student kernel never needs ------------------------------------

# name -> (x86_64, aarch64) system call numbers.
_SYSCALLS = {
    "unshare": (272, 97), "setns": (308, 268), "mount": (165, 40), "umount2": (166, 39),
    "pivot_root": (155, 41), "chroot": (161, 51), "ptrace": (101, 117),
    "process_vm_readv": (310, 270), "process_vm_writev": (311, 271), "bpf": (321, 280),
    "perf_event_open": (298, 241), "keyctl": (250, 219), "add_key": (248, 217), "request_key": (249, 218),
    "userfaultfd": (323, 282), "open_by_handle_at": (304, 265), "name_to_handle_at": (303, 264),
    "kexec_load": (246, 104), "init_module": (175, 105), "finit_module": (313, 273), "delete_module": (176, 106),
    "open_tree": (428, 428), "move_mount": (429, 429), "fsopen": (430, 430), "fsconfig": (431, 431),
    "fsmount": (432, 432), "fspick": (433, 433), "mount_setattr": (442, 442), "swapon": (167, 224),
    "swapoff": (168, 225), "reboot": (169, 142), "acct": (163, 89), "quotactl": (179, 60),
}
_CLONE = (56, 220)
_CLONE3 = (435, 435)
_AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
_X32_SYSCALL_BIT = 0x40000000

_BPF_LD_W_ABS, _BPF_JEQ_K, _BPF_JSET_K, _BPF_JGE_K, _BPF_RET_K = 0x20, 0x15, 0x45, 0x35, 0x06
_RET_ALLOW, _RET_KILL = 0x7FFF0000, 0x80000000
_RET_ERRNO = 0x00050000


class _SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8), ("k", ctypes.c_uint32)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_uint16), ("filter", ctypes.POINTER(_SockFilter))]


def seccomp_program(machine: str | None = None) -> list[tuple[int, int, int, int]]:
    """The filter as (code, jt, jf, k) instructions: namespaces, mounts, tracing other processes,
    kernel keyrings, BPF and modules are refused with EPERM; clone3 answers ENOSYS (its flags cannot
    be read by a filter, and libc then falls back to clone, whose namespace flags are refused)."""
    machine = machine or platform.machine()
    if machine not in _AUDIT_ARCH:
        raise OSError(errno.ENOSYS, f"no seccomp filter for {machine}")
    column = 0 if machine == "x86_64" else 1
    eperm, enosys = _RET_ERRNO | errno.EPERM, _RET_ERRNO | errno.ENOSYS
    program = [(_BPF_LD_W_ABS, 0, 0, 4), (_BPF_JEQ_K, 1, 0, _AUDIT_ARCH[machine]), (_BPF_RET_K, 0, 0, _RET_KILL),
               (_BPF_LD_W_ABS, 0, 0, 0)]
    if machine == "x86_64":
        program += [(_BPF_JGE_K, 0, 1, _X32_SYSCALL_BIT), (_BPF_RET_K, 0, 0, eperm)]
    for numbers in _SYSCALLS.values():
        program += [(_BPF_JEQ_K, 0, 1, numbers[column]), (_BPF_RET_K, 0, 0, eperm)]
    program += [(_BPF_JEQ_K, 0, 1, _CLONE3[column]), (_BPF_RET_K, 0, 0, enosys)]
    # clone(flags, ...): args[0] is at offset 16 (seccomp_data: nr, arch, instruction_pointer, args).
    program += [(_BPF_JEQ_K, 0, 4, _CLONE[column]), (_BPF_LD_W_ABS, 0, 0, 16),
                (_BPF_JSET_K, 0, 1, NAMESPACE_FLAGS), (_BPF_RET_K, 0, 0, eperm), (_BPF_RET_K, 0, 0, _RET_ALLOW)]
    program += [(_BPF_RET_K, 0, 0, _RET_ALLOW)]
    return program


def install_seccomp() -> None:
    """Apply `seccomp_program()` to this process and every process it starts (needs no_new_privs)."""
    program = seccomp_program()
    filters = (_SockFilter * len(program))(*(_SockFilter(*instruction) for instruction in program))
    fprog = _SockFprog(len(program), filters)
    prctl(PR_SET_NO_NEW_PRIVS, 1)
    _check(_libc.prctl(ctypes.c_int(PR_SET_SECCOMP), ctypes.c_ulong(SECCOMP_MODE_FILTER), ctypes.byref(fprog),
                       ctypes.c_ulong(0), ctypes.c_ulong(0)), "seccomp")


# --- a user namespace mapping one uid to itself (for bubblewrap's --userns, when root) ---------


def user_namespace_for(uid: int, gid: int) -> int:
    """A file descriptor of a new user namespace in which `uid`/`gid` map to the same ids outside.

    Only root can write such a map. bubblewrap joins it (`--userns FD`), so the sandbox's processes
    are that unprivileged user on the host, not root with its capabilities dropped.
    """
    ready_read, ready_write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the namespace's first member: it only has to exist until the map is written
        try:
            os.close(ready_read)
            unshare(CLONE_NEWUSER)
            os.write(ready_write, b"x")
            os.pause()
        finally:
            os._exit(0)
    os.close(ready_write)
    try:
        if os.read(ready_read, 1) != b"x":
            raise OSError(errno.EPERM, "could not create a user namespace")
        with open(f"/proc/{pid}/setgroups", "w") as handle:
            handle.write("deny")
        with open(f"/proc/{pid}/uid_map", "w") as handle:
            handle.write(f"{uid} {uid} 1\n")
        with open(f"/proc/{pid}/gid_map", "w") as handle:
            handle.write(f"{gid} {gid} 1\n")
        return os.open(f"/proc/{pid}/ns/user", os.O_RDONLY | os.O_CLOEXEC)
    finally:
        os.close(ready_read)
        os.kill(pid, 9)
        os.waitpid(pid, 0)


def bind_views(paths: list[str], view_root: str) -> list[str]:
    """In a new private mount namespace of this process, bind each path under `view_root`.

    Run in the child that becomes bubblewrap, when root: bubblewrap reads its sources as the
    sandbox's user, who cannot traverse e.g. /root; `view_root/N` shows the same directory
    without the path to it. Nothing changes outside this process.
    """
    unshare(CLONE_NEWNS)
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    views = []
    for index, path in enumerate(paths):
        view = os.path.join(view_root, str(index))
        if os.path.isdir(path):
            os.makedirs(view, exist_ok=True)
        else:
            open(view, "a").close()  # a file is bound onto a file
        mount(path, view, None, MS_BIND | MS_REC)
        views.append(view)
    return views


def pack_seccomp(program: list[tuple[int, int, int, int]]) -> bytes:
    """The filter as the bytes of struct sock_filter[], e.g. for bubblewrap's --add-seccomp-fd."""
    return b"".join(struct.pack("=HBBI", *instruction) for instruction in program)
