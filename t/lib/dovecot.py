"""A private Dovecot 2.3 for tests (Python 3 stdlib only).

    from dovecot import Dovecot
    with Dovecot(users={"alice": "pw", "bob": "pw"}) as dc:
        dc.lmtp_port, dc.imap_port     # TCP on 127.0.0.1, free ports
        dc.lmtp_socket                 # unix socket path for LMTP
        dc.maildir("alice")            # the user's Maildir (INBOX)
        dc.folder_dir("alice", "Spam") # its Maildir++ folder (.Spam)
        dc.messages("alice", "Spam")   # [(path, bytes)] in new/ and cur/
        dc.log_text()                  # Dovecot's log so far
        dc.doveadm("mailbox", "list", "-u", "alice")

Everything lives in one short directory under /tmp (unix socket paths
must stay below 108 bytes, and every parent must be o+x for the mail
uid): dovecot.conf, the passwd-files, run/ (base_dir), state/, log,
mail/<user>/ (Maildir++).

Users come from a passwd-file; a master user (default "admin") logs in
as any user with "alice*admin" or SASL PLAIN authzid.  LMTP files
"user+Folder@domain" into Folder (recipient_delimiter +,
lmtp_save_to_detail_mailbox, lda_mailbox_autocreate).  The namespace
separator is "/", as spamtrap's folder names.  As root the mail is
written as nobody; as another user, as that user.

Later tests add settings with extra_conf (text appended to dovecot.conf,
e.g. IMAPSieve) and protocols (e.g. "imap lmtp sieve").  stop() asks
doveadm to stop the instance, then kills the master by its pid file if
it is still there.
"""

import os
import pwd
import grp
import signal
import socket
import subprocess
import time

import spamtrap

DOVECOT = "/usr/sbin/dovecot"
DOVEADM = "/usr/bin/doveadm"


class DovecotError(Exception):
    pass


class Dovecot:
    def __init__(self, users=None, master_user="admin",
                 master_password="master-secret", protocols="imap lmtp",
                 extra_conf="", prefix="st-dc-"):
        self.users = dict(users or {"alice": "secret", "bob": "secret"})
        self.master_user = master_user
        self.master_password = master_password
        self.protocols = protocols
        self.extra_conf = extra_conf
        self.prefix = prefix
        self.dir = None
        self.lmtp_port = self.imap_port = None
        self.running = False

    # ------------------------------------------------------------ paths

    @property
    def conf_path(self):
        return os.path.join(self.dir, "dovecot.conf")

    @property
    def log_path(self):
        return os.path.join(self.dir, "dovecot.log")

    @property
    def base_dir(self):
        return os.path.join(self.dir, "run")

    @property
    def lmtp_socket(self):
        return os.path.join(self.base_dir, "lmtp")

    @property
    def mail_root(self):
        return os.path.join(self.dir, "mail")

    def maildir(self, user):
        """The Maildir (INBOX) of USER."""
        return os.path.join(self.mail_root, user)

    def folder_dir(self, user, folder_ondisk):
        """The directory of a folder, named as on disk without the dot
        ("Spam", "Spam.One-Shot", "Spam.&ANw-bersicht")."""
        if folder_ondisk in (None, "", "INBOX"):
            return self.maildir(user)
        return os.path.join(self.maildir(user), "." + folder_ondisk)

    def messages(self, user, folder_ondisk=None):
        """[(path, bytes)] of every message in new/ and cur/, sorted."""
        out = []
        base = self.folder_dir(user, folder_ondisk)
        for sub in ("new", "cur"):
            d = os.path.join(base, sub)
            if not os.path.isdir(d):
                continue
            for name in sorted(os.listdir(d)):
                p = os.path.join(d, name)
                with open(p, "rb") as f:
                    out.append((p, f.read()))
        return out

    def log_text(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    # ------------------------------------------------------------ set-up

    def _ids(self):
        """(login/internal user, mail uid, mail gid)."""
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            return None, nobody.pw_uid, nobody.pw_gid
        me = pwd.getpwuid(os.geteuid())
        return me.pw_name, me.pw_uid, me.pw_gid

    def _write_files(self):
        run_as, uid, gid = self._ids()
        os.makedirs(self.base_dir)
        os.makedirs(os.path.join(self.dir, "state"))
        os.makedirs(self.mail_root)
        if os.geteuid() == 0:
            os.chown(self.mail_root, uid, gid)
        with open(os.path.join(self.dir, "users"), "w") as f:
            for name, pw in self.users.items():
                f.write("%s:{PLAIN}%s:%d:%d::%s::\n"
                        % (name, pw, uid, gid, self.maildir(name)))
        with open(os.path.join(self.dir, "masters"), "w") as f:
            f.write("%s:{PLAIN}%s::::::\n"
                    % (self.master_user, self.master_password))
        for name in ("users", "masters"):
            os.chmod(os.path.join(self.dir, name), 0o644)

        unprivileged = ""
        if run_as is not None:
            group = grp.getgrgid(os.getegid()).gr_name
            unprivileged = """
default_internal_user = {u}
default_internal_group = {g}
default_login_user = {u}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
""".format(u=run_as, g=group)

        conf = """# spamtrap test instance; written by t/lib/dovecot.py
base_dir = {base}
state_dir = {dir}/state
instance_name = {name}
log_path = {log}
info_log_path = {log}
debug_log_path = {log}
protocols = {protocols}
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_username_format = %Ln
auth_master_user_separator = *
first_valid_uid = 1
mail_location = maildir:{mail}/%u
mail_uid =
namespace inbox {{
  inbox = yes
  separator = /
  prefix =
}}
postmaster_address = postmaster@example.org
recipient_delimiter = +
lmtp_save_to_detail_mailbox = yes
lda_mailbox_autocreate = yes
passdb {{
  driver = passwd-file
  args = {dir}/masters
  master = yes
  pass = yes
}}
passdb {{
  driver = passwd-file
  args = {dir}/users
}}
userdb {{
  driver = passwd-file
  args = {dir}/users
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {lmtp}
  }}
  unix_listener lmtp {{
    mode = 0666
  }}
}}
service stats {{
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
{unprivileged}
{extra}
""".format(base=self.base_dir, dir=self.dir, name=os.path.basename(self.dir),
           log=self.log_path, protocols=self.protocols, mail=self.mail_root,
           imap=self.imap_port, lmtp=self.lmtp_port,
           unprivileged=unprivileged, extra=self.extra_conf)
        with open(self.conf_path, "w") as f:
            f.write(conf)

    # ------------------------------------------------------------ start/stop

    def start(self, timeout=20.0):
        """Write the config and start Dovecot; returns self."""
        if self.running:
            return self
        if self.dir is None:
            self.dir = spamtrap.short_tempdir(self.prefix)
            self.lmtp_port = spamtrap.free_port()
            self.imap_port = spamtrap.free_port()
            while self.imap_port == self.lmtp_port:
                self.imap_port = spamtrap.free_port()
            self._write_files()
        # the daemon keeps its stdout: give it a file, not a pipe
        out_path = os.path.join(self.dir, "dovecot.out")
        with open(out_path, "w") as out:
            r = subprocess.run([DOVECOT, "-c", self.conf_path],
                               stdin=subprocess.DEVNULL, stdout=out,
                               stderr=subprocess.STDOUT)
        if r.returncode != 0:
            with open(out_path, errors="replace") as f:
                text = f.read()
            raise DovecotError("dovecot failed to start: %s\n%s"
                               % (text, self.log_text()))
        self.running = True
        ok = (spamtrap.wait_for_port(self.lmtp_port, timeout=timeout) and
              spamtrap.wait_for_port(self.imap_port, timeout=timeout) and
              spamtrap.wait_for_path(self.lmtp_socket, timeout=timeout))
        if not ok:
            log = self.log_text()
            self.stop()
            raise DovecotError("dovecot did not start listening:\n" + log)
        return self

    def master_pid(self):
        try:
            with open(os.path.join(self.base_dir, "master.pid")) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def stop(self, timeout=10.0):
        """Stop the instance (keeps its directory: see cleanup())."""
        if not self.running:
            return
        pid = self.master_pid()
        subprocess.run([DOVEADM, "-c", self.conf_path, "stop"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while pid is not None and _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if pid is not None and _alive(pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        # the listeners are gone once the master is
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and _port_open(self.lmtp_port):
            time.sleep(0.05)
        self.running = False

    def cleanup(self):
        self.stop()
        if self.dir is not None and not os.environ.get("SPAMTRAP_KEEP"):
            spamtrap.remove_tree(self.dir)
            self.dir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.cleanup()
        return False

    # ------------------------------------------------------------ tools

    def sievec(self, path):
        """Precompile a Sieve script with this instance's settings (the
        imap process could not write the .svbin as the mail uid)."""
        r = subprocess.run(["/usr/bin/sievec", "-c", self.conf_path, path],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
        if r.returncode != 0:
            raise DovecotError("sievec %s: %s%s" % (path, r.stdout, r.stderr))
        base = os.path.splitext(path)[0] + ".svbin"
        if os.path.exists(base):
            os.chmod(base, 0o644)

    def doveadm(self, *args, check=True):
        """Run doveadm against this instance; returns its stdout."""
        r = subprocess.run([DOVEADM, "-c", self.conf_path] + list(args),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
        if check and r.returncode != 0:
            raise DovecotError("doveadm %s: %s" % (" ".join(args), r.stderr))
        return r.stdout


def imapsieve_conf(sieve_dir, pipe_dir, quarantine="Spam",
                   ignore=("Trash", "Junk")):
    """extra_conf for IMAPSieve reporting moves to a pipe program, as
    INSTALL describes: into QUARANTINE (COPY, APPEND) runs
    SIEVE_DIR/report-spam.sieve, out of it (COPY) report-ham.sieve; both
    pipe the message to "spamtrap-learn --spam|--ham USER" found in
    PIPE_DIR.  Call write_imapsieve_scripts() and sievec() after start."""
    return """
protocol imap {{
  mail_plugins = $mail_plugins imap_sieve
}}
plugin {{
  sieve_plugins = sieve_imapsieve sieve_extprograms
  sieve_global_extensions = +vnd.dovecot.pipe +vnd.dovecot.environment
  sieve_pipe_bin_dir = {pipe}
  imapsieve_mailbox1_name = {q}
  imapsieve_mailbox1_causes = COPY APPEND
  imapsieve_mailbox1_before = file:{dir}/report-spam.sieve
  imapsieve_mailbox2_name = *
  imapsieve_mailbox2_from = {q}
  imapsieve_mailbox2_causes = COPY
  imapsieve_mailbox2_before = file:{dir}/report-ham.sieve
}}
""".format(pipe=pipe_dir, q=quarantine, dir=sieve_dir)


def write_imapsieve_scripts(sieve_dir, ignore=("Trash", "Junk")):
    """The two Sieve scripts of imapsieve_conf()."""
    os.makedirs(sieve_dir, exist_ok=True)
    common = ('require ["vnd.dovecot.pipe", "copy", "imapsieve", "environment", '
              '"variables"];\n'
              'if environment :matches "imap.user" "*" { set "username" "${1}"; }\n')
    skip = ('if environment :matches "imap.mailbox" "*" { set "mailbox" "${1}"; }\n'
            'if string "${mailbox}" [%s] { stop; }\n'
            % ", ".join('"%s"' % f for f in ignore))
    with open(os.path.join(sieve_dir, "report-spam.sieve"), "w") as f:
        f.write(common + 'pipe :copy "spamtrap-learn" ["--spam", "${username}"];\n')
    with open(os.path.join(sieve_dir, "report-ham.sieve"), "w") as f:
        f.write(common + skip
                + 'pipe :copy "spamtrap-learn" ["--ham", "${username}"];\n')
    os.chmod(sieve_dir, 0o755)


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie child of ours would count as alive; dovecot daemonises,
    # so its master is not our child
    return True


def _port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False
