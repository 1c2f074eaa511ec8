"""The seccomp filter bubblewrap loads (`--seccomp FD`) when a sandboxed command shares the
machine's network: it cannot make a unix socket (`socket(AF_UNIX, …)` fails with EACCES).

Mounts hide the host's unix sockets that are files (/tmp, /run, the home), but abstract ones
(`@/tmp/.X11-unix/X0`, some D-Bus and agent sockets) are no files: they belong to the network
namespace, and a command that shares the machine's network could reach them. A command in a
network namespace of its own (`sandbox.network: false` or a host list) has none of the host's,
and gets no filter. `socketpair()` still works (event loops, pipes between a program and its
children), and `sandbox.unix_sockets: true` lets commands make unix sockets again.

The filter is classic BPF, written out here (no libseccomp): other architectures' system calls
are refused, as are io_uring's (it can make sockets without the socket call).
"""

from __future__ import annotations

import errno
import os
import platform
import struct

# linux/filter.h, linux/seccomp.h, linux/audit.h
BPF_LD_W_ABS = 0x20  # BPF_LD | BPF_W | BPF_ABS
BPF_JEQ_K = 0x15  # BPF_JMP | BPF_JEQ | BPF_K
BPF_JGE_K = 0x35  # BPF_JMP | BPF_JGE | BPF_K
BPF_RET_K = 0x06  # BPF_RET | BPF_K
RET_ALLOW = 0x7FFF0000
RET_ERRNO = 0x00050000
OFFSET_NR, OFFSET_ARCH, OFFSET_ARG0 = 0, 4, 16  # struct seccomp_data (arg0: its low 32 bits)
AF_UNIX = 1
X32_BIT = 0x40000000

# machine: (AUDIT_ARCH_*, socket, io_uring_setup, whether x32 calls are to be refused)
ARCHITECTURES = {
    "x86_64": (0xC000003E, 41, 425, True),
    "aarch64": (0xC00000B7, 198, 425, False),
}


def _op(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
    return struct.pack("=HBBI", code, jt, jf, k)


def program(machine: str | None = None) -> bytes | None:
    """The filter for this machine's architecture (None where it is not known here)."""
    found = ARCHITECTURES.get(machine or platform.machine())
    if found is None:
        return None
    arch, socket_nr, uring_nr, x32 = found
    deny = RET_ERRNO | errno.EACCES
    # jumps count the instructions they skip; `allow` and `deny` are the last two
    ops = [
        _op(BPF_LD_W_ABS, OFFSET_ARCH),
        _op(BPF_JEQ_K, arch, jf=7 if x32 else 6),  # another architecture: deny
        _op(BPF_LD_W_ABS, OFFSET_NR),
        *([_op(BPF_JGE_K, X32_BIT, jt=5)] if x32 else []),  # an x32 call: deny
        _op(BPF_JEQ_K, uring_nr, jt=4),  # io_uring_setup: deny
        _op(BPF_JEQ_K, socket_nr, jf=2),  # not socket(): allow
        _op(BPF_LD_W_ABS, OFFSET_ARG0),
        _op(BPF_JEQ_K, AF_UNIX, jt=1),  # socket(AF_UNIX, …): deny; another family: allow
        _op(BPF_RET_K, RET_ALLOW),
        _op(BPF_RET_K, deny),
    ]
    return b"".join(ops)


def readable(filter_program: bytes) -> int:
    """A file descriptor bubblewrap reads the filter from (the caller passes it on and closes
    it): the read end of a pipe that holds the program."""
    read, write = os.pipe()
    try:
        os.write(write, filter_program)
    finally:
        os.close(write)
    return read
