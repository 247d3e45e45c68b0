"""Real test servers (Dovecot, an SMTP submission server, dnsmasq) on loopback.

See README.md in this folder for the fixtures and their options.
"""
