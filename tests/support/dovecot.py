"""A real IMAP server for the tests: Debian's dovecot, started as a private instance (its own config, runtime
and mail directories in a temporary folder, plaintext IMAP on a free loopback port, one user from a
passwd-file, maildir storage). As root (CI), the mail is owned by `nobody` and dovecot's own users run the
services; as anyone else, everything runs as that user."""

from __future__ import annotations

import grp
import imaplib
import os
import pwd
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DOVECOT", "ImapServer", "dovecot_server"]

DOVECOT = os.environ.get("CAREDESK_TEST_DOVECOT", "/usr/sbin/dovecot")


@dataclass(frozen=True)
class ImapServer:
    host: str
    port: int
    user: str
    password: str
    root: Path

    def client(self) -> imaplib.IMAP4:
        c = imaplib.IMAP4(self.host, self.port)
        c.login(self.user, self.password)
        return c

    def append(self, raw: bytes, folder: str = "INBOX") -> None:
        """Put a message into a folder, as a mail server's delivery would (IMAP APPEND)."""
        c = self.client()
        try:
            status, _ = c.append(folder, None, None, raw)
            assert status == "OK", status
        finally:
            c.logout()

    def uids(self, folder: str) -> list[int]:
        c = self.client()
        try:
            status, _ = c.select(f'"{folder}"', readonly=True)
            if status != "OK":
                return []
            _, data = c.uid("search", None, "ALL")  # type: ignore[arg-type]
            return [int(u) for u in data[0].split()]
        finally:
            c.logout()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _config(root: Path, port: int, passwd: Path, internal: str, login: str) -> str:
    return f"""base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {internal}
default_internal_group = {grp.getgrgid(pwd.getpwnam(internal).pw_gid).gr_name}
default_login_user = {login}
first_valid_uid = 1
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {passwd}
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {passwd}
}}
mail_location = maildir:{root}/mail/%u
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
  chroot =
}}
service anvil {{
  chroot =
}}
service stats {{
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
"""


@contextmanager
def dovecot_server(root: Path) -> Iterator[ImapServer]:
    """Start dovecot under `root`; stopped (and its processes gone) on exit."""
    if os.geteuid() == 0:
        internal, login, mail_user = "dovecot", "dovenull", pwd.getpwnam("nobody")
    else:
        internal = login = pwd.getpwuid(os.geteuid()).pw_name
        mail_user = pwd.getpwuid(os.geteuid())
    for sub in ("run", "state", "mail"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    os.chmod(root, 0o755)
    os.chmod(root / "mail", 0o777)
    port = _free_port()
    user, password = "desk@caredesk.test", "imap-test-password"
    passwd = root / "passwd"
    passwd.write_text(f"{user}:{{PLAIN}}{password}:{mail_user.pw_uid}:{mail_user.pw_gid}::{root}/mail/{user}\n")
    conf = root / "dovecot.conf"
    conf.write_text(_config(root, port, passwd, internal, login))
    try:
        # the master daemonizes; its children keep the parent's stdout/stderr open: a file, never a pipe
        with (root / "start.log").open("wb") as out:
            started = subprocess.run([DOVECOT, "-c", str(conf)], stdout=out, stderr=out, timeout=30)
        if started.returncode != 0:
            raise RuntimeError(f"dovecot did not start: {(root / 'start.log').read_text().strip()}")
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    log = (root / "dovecot.log").read_text() if (root / "dovecot.log").exists() else ""
                    raise RuntimeError(f"dovecot did not listen on {port}: {log[-2000:]}") from None
                time.sleep(0.1)
        yield ImapServer("127.0.0.1", port, user, password, root)
    finally:
        subprocess.run([DOVECOT, "-c", str(conf), "stop"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=30)
        deadline = time.monotonic() + 10
        while (root / "run" / "master.pid").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        shutil.rmtree(root / "run", ignore_errors=True)
