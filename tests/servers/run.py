"""Start the test servers by hand, for trying tamago out against them.

    .venv/bin/python -m tests.servers.run

prints the ports, the test CA and the users, then keeps Dovecot, SMTP and DNS
running until Ctrl-C. Nothing here is used by the test suite itself.
"""

from __future__ import annotations

import signal
import time

from tests.servers.certs import TestCA
from tests.servers.dns import DnsServer
from tests.servers.dovecot import Dovecot
from tests.servers.process import private_dir, remove_dir
from tests.servers.smtp import SmtpServer
from tests.servers.users import DOMAIN


def main() -> None:
    directory = private_dir("certs")
    ca = TestCA(directory)
    dovecot = Dovecot(ca).start()
    smtp = SmtpServer(ca, dovecot).start()
    dns = DnsServer()
    dns.add_mail_domain(DOMAIN, imap=dovecot.ports["imap"], imaps=dovecot.ports["imaps"],
                        submission=smtp.ports["submission"], submissions=smtp.ports["smtps"])
    dns.start()
    print(f"CA file:    {ca.cafile}")
    print(f"IMAP:       127.0.0.1 imaps={dovecot.ports['imaps']} starttls={dovecot.ports['imap']}")
    print(f"SMTP:       127.0.0.1 smtps={smtp.ports['smtps']} submission={smtp.ports['submission']}")
    print(f"DNS:        {dns.nameserver} (zone {DOMAIN})")
    for user in dovecot.users.values():
        print(f"user:       {user.address} / {user.password}")
    print("Ctrl-C stops them.", flush=True)
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    try:
        while not stop:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        dns.stop()
        smtp.stop()
        dovecot.stop()
        remove_dir(directory)


if __name__ == "__main__":
    main()
