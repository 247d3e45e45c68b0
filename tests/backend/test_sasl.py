"""SASL message builders for XOAUTH2 and OAUTHBEARER (the logins themselves run against Dovecot)."""

import base64

import pytest

from tamago_tui.backend import sasl


def test_xoauth2_message_matches_googles_format():
    # developers.google.com/gmail/imap/xoauth2-protocol: user=...^Aauth=Bearer ...^A^A
    assert sasl.xoauth2_message("someuser@example.com", "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg") == (
        b"user=someuser@example.com\x01auth=Bearer ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg\x01\x01"
    )


def test_oauthbearer_message_matches_rfc7628_example():
    # RFC 7628 section 4.1, the IMAP example's decoded initial response.
    assert sasl.oauthbearer_message("user@example.com", "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==",
                                    "server.example.com", 143) == (
        b"n,a=user@example.com,\x01host=server.example.com\x01port=143\x01"
        b"auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\x01\x01"
    )


def test_oauthbearer_escapes_the_authzid():
    assert sasl.oauthbearer_message("a=b,c", "t").startswith(b"n,a=a=3Db=2Cc,\x01")
    assert sasl.oauthbearer_message("", "t") == b"n,,\x01auth=Bearer t\x01\x01"


def test_mechanism_names_and_error_replies():
    assert sasl.normalize_mechanism("oauthbearer") == "OAUTHBEARER"
    assert sasl.error_reply("OAUTHBEARER") == b"\x01" and sasl.error_reply("XOAUTH2") == b""
    with pytest.raises(ValueError):
        sasl.normalize_mechanism("PLAIN")


def test_error_challenges_are_summarised():
    raw = b'{"status":"invalid_token","scope":"example_scope","openid-configuration":"https://x"}'
    assert sasl.describe_challenge(raw) == "status=invalid_token, scope=example_scope"
    assert sasl.describe_challenge(base64.b64encode(raw).decode()) == "status=invalid_token, scope=example_scope"
    assert sasl.describe_challenge("not base64 at all!") == ""
