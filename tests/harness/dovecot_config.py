"""The ``dovecot.conf`` of a private test instance (``tests/harness/dovecot.py``).

2.3 syntax, verified with 2.3.19.1; the 2.4 config is written from the upgrade
notes and was never started here.
"""

from __future__ import annotations

from pathlib import Path

from tests.harness.process import HOST, RunAs


def config_text(*, directory: Path, version: tuple[int, ...] | None, who: RunAs, port: int,
                imaps_port: int, separator: str, processed_folder: str,
                oauth2_introspection_url: str | None) -> str:
    """The config for Dovecot ``version`` (2.3 when unknown) with everything
    under ``directory``, run as ``who``. For 2.3 with
    ``oauth2_introspection_url`` it also writes ``dovecot-oauth2.conf.ext``."""
    v = version or (2, 3)
    d = directory
    common_services = f"""
service imap-login {{
  chroot =
  inet_listener imap {{
    address = {HOST}
    port = {port}
  }}
  inet_listener imaps {{
    address = {HOST}
    port = {imaps_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
  # The auth process cannot connect here, so it disables its failure penalty
  # (otherwise a wrong password delays this IP's next logins by 2, 4, ... 15 s).
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
namespace inbox {{
  inbox = yes
  separator = {separator}
  mailbox {processed_folder} {{
    auto = subscribe
  }}
}}
"""
    if v[:2] >= (2, 4):
        # Written from the 2.3 -> 2.4 upgrade notes; only 2.3 was started here.
        return f"""dovecot_config_version = 2.4.0
dovecot_storage_version = 2.4.0
# Written by tests/harness/dovecot.py for Dovecot {".".join(map(str, v))}
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
protocols = imap
listen = {HOST}
auth_allow_cleartext = yes
auth_failure_delay = 0
default_internal_user = {who.user}
default_internal_group = {who.group}
default_login_user = {who.user}
mail_driver = maildir
mail_path = ~/Maildir
mail_home = {d}/mail/%{{user | domain}}/%{{user | username}}
mail_uid = {who.uid}
mail_gid = {who.gid}
mail_max_userip_connections = 100
ssl = yes
ssl_server_cert_file = {d}/cert.pem
ssl_server_key_file = {d}/key.pem
passdb passwd-file {{
  passwd_file_path = {d}/users
}}
userdb passwd-file {{
  passwd_file_path = {d}/users
}}
""" + common_services
    oauth2 = ""
    if oauth2_introspection_url:
        (d / "dovecot-oauth2.conf.ext").write_text(
            "introspection_mode = auth\n"
            f"introspection_url = {oauth2_introspection_url}\n"
            "username_attribute = mail\n", "utf-8")
        oauth2 = f"""auth_mechanisms = plain login xoauth2 oauthbearer
passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {d}/dovecot-oauth2.conf.ext
}}
"""
    return f"""# Written by tests/harness/dovecot.py for Dovecot {".".join(map(str, v))}
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
protocols = imap
listen = {HOST}
disable_plaintext_auth = no
auth_failure_delay = 0
default_internal_user = {who.user}
default_internal_group = {who.group}
default_login_user = {who.user}
mail_location = maildir:~/Maildir
mail_max_userip_connections = 100
ssl = yes
ssl_cert = <{d}/cert.pem
ssl_key = <{d}/key.pem
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/users
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {d}/users
  default_fields = uid={who.uid} gid={who.gid} home={d}/mail/%d/%n
}}
""" + oauth2 + common_services
