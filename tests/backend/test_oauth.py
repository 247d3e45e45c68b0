"""OAuth: provider data, the three sign-in flows, refresh, retry, revocation and errors.

The flows run against the loopback authorization server in tests/servers/oauth_server.py;
the test plays the person: it approves device codes over HTTP and follows the
authorization URL with urllib the way a browser would.
"""

from __future__ import annotations

import logging
import socket
import threading

import pytest

from tamago_tui.backend import config as config_mod
from tamago_tui.backend import oauth
from tamago_tui.backend.config import Config
from tamago_tui.backend.errors import AuthError, ConfigError, NetworkError, OAuthError, UsageError
from tamago_tui.backend.log import setup as setup_log
from tamago_tui.backend.oauth_flows import AuthCodeFlow, DeviceCodeFlow, parse_redirect, s256, ssh_forward_hint
from tests.oauth_helpers import browser_redirect, facade, make_account, sign_in_with_device, visit


IDP_OPTIONS = {}  # device codes are polled at once (the tests play the person in-line)


# --------------------------------------------------------------------------- provider data


def test_builtin_providers_have_the_documented_endpoints_and_no_borrowed_client_ids():
    providers = oauth.load_providers()
    google, microsoft = providers["google"], providers["microsoft"]
    assert google.endpoint("authorization") == "https://accounts.google.com/o/oauth2/v2/auth"
    assert google.endpoint("token") == "https://oauth2.googleapis.com/token"
    assert google.scopes == ("https://mail.google.com/",)
    assert google.flows == ("loopback", "paste") and google.default_flow == "loopback"
    assert microsoft.endpoint("device_authorization") == \
        "https://login.microsoftonline.com/common/oauth2/v2.0/devicecode"
    assert microsoft.endpoint("token") == "https://login.microsoftonline.com/common/oauth2/v2.0/token"
    assert set(microsoft.scopes) == {"https://outlook.office.com/IMAP.AccessAsUser.All",
                                     "https://outlook.office.com/SMTP.Send", "offline_access"}
    assert microsoft.default_flow == "device"
    assert google.client_id == "" and microsoft.client_id == ""


def test_config_overrides_a_builtin_and_derives_a_tenant_from_a_base():
    providers = oauth.load_providers({
        "google": {"client_id": "123.apps.googleusercontent.com", "client_secret": "not-really-secret"},
        "work": {"base": "microsoft", "tenant": "contoso.example", "client_id": "abc"},
    })
    assert providers["google"].client_id == "123.apps.googleusercontent.com"
    assert providers["google"].token_endpoint == "https://oauth2.googleapis.com/token"
    work = providers["work"]
    assert work.endpoint("token") == "https://login.microsoftonline.com/contoso.example/oauth2/v2.0/token"
    assert work.client_id == "abc" and work.key == "work" and "offline_access" in work.scopes
    assert providers["microsoft"].tenant == "common"


@pytest.mark.parametrize("table, words", [
    ({"x": {"client_idd": "typo"}}, "client_idd"),
    ({"x": {"base": "nowhere"}}, "nowhere"),
    ({"google": {"default_flow": "telepathy"}}, "default_flow"),
])
def test_bad_oauth_tables_are_config_errors(table, words):
    with pytest.raises(ConfigError) as err:
        oauth.load_providers(table)
    assert words in str(err.value)


def test_provider_is_chosen_by_setting_then_preset_then_domain():
    providers = oauth.load_providers()
    base = make_account(oauth_provider="")
    assert oauth.provider_for_account(base.with_(provider="office365"), providers).key == "microsoft"
    assert oauth.provider_for_account(base.with_(email="x@gmail.com"), providers).key == "google"
    assert oauth.provider_for_account(base.with_(provider="gmail", oauth_provider="microsoft"),
                                      providers).key == "microsoft"
    with pytest.raises(OAuthError) as err:
        oauth.provider_for_account(base.with_(email="x@unknown.example"), providers)
    assert err.value.category == "oauth_misconfigured"
    with pytest.raises(ConfigError):
        oauth.provider_for_account(base.with_(oauth_provider="nope"), providers)


def test_missing_client_id_stops_sign_in_with_registration_help():
    google = oauth.load_providers()["google"]
    with pytest.raises(OAuthError) as err:
        AuthCodeFlow(google, listen=False)
    assert err.value.category == "oauth_misconfigured"
    assert "[oauth.google]" in str(err.value) and "console.cloud.google.com" in str(err.value)


def test_config_file_round_trips_oauth_tables_and_account_fields(tmp_path):
    account = make_account(token_command="pass show mail/token", oauth_mechanism="OAUTHBEARER")
    config = Config(accounts={"alice": account},
                    oauth={"work": {"base": "microsoft", "tenant": "t1", "client_id": "abc",
                                    "auth_params": {"prompt": "select_account"}}})
    path = tmp_path / "config.toml"
    config_mod.save(config, path)
    loaded = config_mod.load(path)
    assert loaded.accounts["alice"] == account
    assert loaded.oauth == config.oauth
    assert oauth.load_providers(loaded.oauth)["work"].auth_params == {"prompt": "select_account"}


def test_plain_http_endpoints_are_refused_unless_loopback():
    assert oauth.check_endpoint("http://127.0.0.1:9/token")
    assert oauth.check_endpoint("http://[::1]:9/token")
    with pytest.raises(OAuthError) as err:
        oauth.check_endpoint("http://login.example.com/token")
    assert err.value.category == "oauth_misconfigured"


def test_pkce_s256_matches_rfc7636_appendix_b():
    assert s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


# --------------------------------------------------------------------------- device code


def test_device_flow_signs_in_and_stores_only_the_refresh_token(idp):
    vault = oauth.MemoryVault()
    o = facade(idp, vault)
    account = make_account()
    tokens = sign_in_with_device(idp, o, account)
    info = idp.introspect(tokens.access_token)
    assert info["active"] and info["username"] == account.email
    grant = oauth.load_grant(vault, account.name)
    assert grant.refresh_token == tokens.refresh_token and grant.provider == "test"
    assert list(vault.values) == [("alice", oauth.SECRET_KIND)]
    assert "access_token" not in vault.values[("alice", oauth.SECRET_KIND)]
    assert o.token_source(account).access_token() == tokens.access_token  # from the cache
    assert idp.token_calls("refresh_token") == 0


def test_device_flow_waits_while_pending_and_slows_down_when_told(idp):
    provider = facade(idp).provider_for(make_account())
    flow = DeviceCodeFlow(provider, timeout=5)
    auth = flow.start()
    idp.fail_next("token", "slow_down", grant_type=oauth_flows_device_grant())
    waits = []

    def sleep(interval):
        waits.append(interval)
        if len(waits) == 3:
            idp.device_action(auth.user_code, "approve")

    tokens = flow.poll(auth, sleep=sleep)
    assert tokens.access_token
    # interval 0 from the server; +5 after slow_down (RFC 8628 3.5), kept afterwards
    assert waits == [0, 5, 5]
    assert idp.calls[("token", oauth_flows_device_grant())] == 3


def oauth_flows_device_grant() -> str:
    from tamago_tui.backend.oauth_flows import DEVICE_GRANT

    return DEVICE_GRANT


@pytest.mark.parametrize("action, error, category", [
    ("deny", "access_denied", "consent_required"),
    ("expire", "expired_token", "timeout"),
])
def test_device_flow_declined_or_expired(idp, action, error, category):
    provider = facade(idp).provider_for(make_account())
    flow = DeviceCodeFlow(provider, timeout=5)
    auth = flow.start()
    idp.device_action(auth.user_code, action)
    with pytest.raises(OAuthError) as err:
        flow.poll(auth, sleep=lambda _: None)
    assert err.value.error == error and err.value.category == category
    assert idp.calls[("token", oauth_flows_device_grant())] == 1


def test_device_flow_sends_pkce_when_configured_and_the_server_checks_it(idp):
    provider = facade(idp, device_pkce=True).provider_for(make_account())
    flow = DeviceCodeFlow(provider, timeout=5)
    auth = flow.start()
    assert idp.requests[-1][1]["code_challenge"] == flow.pkce.challenge
    assert idp.requests[-1][1]["code_challenge_method"] == "S256"
    idp.device_action(auth.user_code, "approve")
    good_verifier = flow.pkce.verifier
    object.__setattr__(flow.pkce, "verifier", "x" * 64)
    with pytest.raises(OAuthError) as err:
        flow.poll(auth, sleep=lambda _: None)
    assert err.value.error == "invalid_grant"
    object.__setattr__(flow.pkce, "verifier", good_verifier)
    assert flow.poll(auth, sleep=lambda _: None).access_token


# --------------------------------------------------------------------------- authorization code


def test_loopback_flow_catches_the_redirect_and_ignores_stale_and_idle_connections(idp):
    provider = facade(idp).provider_for(make_account())
    with AuthCodeFlow(provider, login_hint="bob@example.test", timeout=5) as flow:
        assert flow.redirect_uri == f"http://127.0.0.1:{flow.port}/"
        assert "code_challenge_method=S256" in flow.authorization_url
        location = browser_redirect(flow.authorization_url)
        assert location.startswith(flow.redirect_uri)
        statuses = []

        def browser():
            statuses.append(visit(f"{flow.redirect_uri}favicon.ico"))
            statuses.append(visit(f"{flow.redirect_uri}?code=stolen&state=wrong"))
            statuses.append(visit(location))

        # A browser's speculative connection that never sends a request must not block the rest.
        idle = socket.create_connection(("127.0.0.1", flow.port), timeout=5)
        thread = threading.Thread(target=browser)
        thread.start()
        tokens = flow.wait(8)  # below the 10 s idle timeout: only a threaded listener gets there
        thread.join(10)
        idle.close()
    assert statuses == [404, 400, 200]
    assert idp.introspect(tokens.access_token)["username"] == "bob@example.test"
    assert idp.calls[("token", "authorization_code")] == 1


def test_loopback_flow_times_out_with_the_ssh_hint(idp):
    provider = facade(idp).provider_for(make_account())
    with AuthCodeFlow(provider, timeout=5) as flow:
        with pytest.raises(OAuthError) as err:
            flow.wait(0.3)
    assert f"ssh -L {flow.port}:127.0.0.1:{flow.port}" in str(err.value)
    assert err.value.category == "timeout"


def test_ssh_hint_is_exact():
    assert ssh_forward_hint(8765, "me@box") == "ssh -L 8765:127.0.0.1:8765 me@box"


def test_paste_flow_accepts_the_redirected_address_and_verifies_state(idp):
    provider = facade(idp).provider_for(make_account())
    flow = AuthCodeFlow(provider, listen=False, port=8765, timeout=5)
    assert flow.redirect_uri == "http://127.0.0.1:8765/"
    location = browser_redirect(flow.authorization_url)
    params = parse_redirect(location)
    with pytest.raises(UsageError):
        flow.complete(location.replace(params["state"], "someone-elses-state"))
    with pytest.raises(UsageError):
        flow.complete("http://127.0.0.1:8765/")
    tokens = flow.complete(f"  '{location}'\n")
    assert idp.introspect(tokens.access_token)["active"] is True
    assert parse_redirect("?code=a&state=b") == parse_redirect("code=a&state=b") == {"code": "a", "state": "b"}


def test_server_enforces_pkce_on_the_code_exchange(idp):
    provider = facade(idp).provider_for(make_account())
    flow = AuthCodeFlow(provider, listen=False, timeout=5)
    location = browser_redirect(flow.authorization_url)
    object.__setattr__(flow.pkce, "verifier", "forged-" + "x" * 50)
    with pytest.raises(OAuthError) as err:
        flow.complete(location)
    assert err.value.error == "invalid_grant"


def test_redirect_uri_mismatch_from_the_provider_is_a_misconfiguration(idp):
    provider = facade(idp).provider_for(make_account())
    flow = AuthCodeFlow(provider, listen=False, timeout=5)
    idp.fail_next("authorize", "invalid_request",
                  "AADSTS50011: The redirect URI 'http://127.0.0.1:1/' specified in the request does "
                  "not match the redirect URIs configured for the application.")
    with pytest.raises(OAuthError) as err:
        flow.complete(browser_redirect(flow.authorization_url))
    assert err.value.category == "oauth_misconfigured" and not err.value.needs_sign_in
    assert "AADSTS50011" in str(err.value)


# --------------------------------------------------------------------------- refresh


def test_access_token_is_refreshed_shortly_before_expiry(idp):
    o = facade(idp)
    account = make_account()
    tokens = sign_in_with_device(idp, o, account)
    now = [tokens.expires_at - 3600]
    source = oauth.RefreshTokenSource(account, o.provider_for(account), o.vault, clock=lambda: now[0])
    assert source.access_token() == tokens.access_token
    now[0] = tokens.expires_at - 61
    assert source.access_token() == tokens.access_token
    assert idp.token_calls("refresh_token") == 0
    now[0] = tokens.expires_at - 59  # inside the 60 s skew
    fresh = source.access_token()
    assert fresh != tokens.access_token and idp.introspect(fresh)["active"]
    assert idp.token_calls("refresh_token") == 1


def test_short_lived_tokens_are_refreshed_on_next_use(idp):
    idp.access_token_lifetime = 30  # shorter than the skew: always due
    o = facade(idp)
    account = make_account()
    tokens = sign_in_with_device(idp, o, account)
    source = o.token_source(account)
    first = source.access_token()
    assert first != tokens.access_token
    assert idp.token_calls("refresh_token") == 1


def test_rotated_refresh_tokens_replace_the_stored_one(idp):
    idp.rotate_refresh_tokens = True
    o = facade(idp)
    account = make_account()
    tokens = sign_in_with_device(idp, o, account)
    o.token_source(account).access_token(force_refresh=True)
    stored = oauth.load_grant(o.vault, account.name).refresh_token
    assert stored != tokens.refresh_token and idp.refresh_tokens[stored].active
    assert not idp.refresh_tokens[tokens.refresh_token].active


def test_one_retry_with_a_fresh_token_after_an_auth_failure(idp):
    o = facade(idp)
    account = make_account()
    tokens = sign_in_with_device(idp, o, account)
    seen = []

    def login(token):
        seen.append(token)
        if len(seen) == 1:
            raise AuthError("NO [AUTHENTICATIONFAILED] Authentication failed.")
        return "logged in"

    assert oauth.call_with_token(o.token_source(account), login) == "logged in"
    assert seen[0] == tokens.access_token and seen[1] != tokens.access_token
    assert idp.token_calls("refresh_token") == 1


def test_a_server_that_keeps_refusing_gets_exactly_two_attempts(idp):
    o = facade(idp)
    account = make_account()
    sign_in_with_device(idp, o, account)
    attempts = []

    def login(token):
        attempts.append(token)
        raise AuthError("NO [AUTHENTICATIONFAILED] Authentication failed.")

    with pytest.raises(AuthError):
        oauth.call_with_token(o.token_source(account), login)
    assert len(attempts) == 2 and idp.token_calls("refresh_token") == 1


async def test_async_retry_for_smtp(idp):
    o = facade(idp)
    account = make_account()
    tokens = sign_in_with_device(idp, o, account)
    seen = []

    async def login(token):
        seen.append(token)
        if token == tokens.access_token:
            raise AuthError("535 5.7.8 Authentication credentials invalid")
        return 235

    assert await oauth.acall_with_token(o.token_source(account), login) == 235
    assert len(seen) == 2 and idp.token_calls("refresh_token") == 1


def test_revoked_refresh_token_asks_to_sign_in_again_without_looping(idp):
    o = facade(idp)
    account = make_account()
    sign_in_with_device(idp, o, account)
    assert idp.revoke_user(account.email) == 1
    source = o.token_source(account)

    def login(token):
        if not idp.introspect(token)["active"]:
            raise AuthError("NO [AUTHENTICATIONFAILED] Authentication failed.")
        return "ok"

    with pytest.raises(OAuthError) as err:
        oauth.call_with_token(source, login)
    assert err.value.needs_sign_in and err.value.error == "invalid_grant"
    assert err.value.category == "invalid_credentials"
    assert "tamago oauth login alice" in str(err.value)
    assert idp.token_calls("refresh_token") == 1
    # The refused grant is gone: asking again fails at once, without the network.
    for _ in range(3):
        with pytest.raises(OAuthError) as again:
            oauth.call_with_token(source, login)
        assert again.value.needs_sign_in
    assert idp.token_calls("refresh_token") == 1
    assert oauth.load_grant(o.vault, account.name) is None
    assert o.status(account)["signed_in"] is False


def test_not_signed_in_is_a_sign_in_again_error(idp):
    o = facade(idp)
    with pytest.raises(OAuthError) as err:
        o.token_source(make_account()).access_token()
    assert err.value.needs_sign_in and err.value.category == "invalid_credentials"
    assert idp.token_calls() == 0


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize("error, description, category, sign_in", [
    ("invalid_grant",
     "AADSTS65001: The user or administrator has not consented to use the application with ID "
     "'00000000-0000-0000-0000-000000000000' named 'tamago'. Send an interactive authorization "
     "request for this user and resource.", "consent_required", True),
    ("invalid_request",
     "AADSTS90094: The grant requires admin permission.", "consent_required", True),
    ("unauthorized_client",
     "AADSTS700016: Application with identifier 'x' was not found in the directory 'y'.",
     "oauth_misconfigured", False),
    ("invalid_client", "The OAuth client was not found.", "oauth_misconfigured", False),
    ("invalid_grant", "Token has been expired or revoked.", "invalid_credentials", True),
])
@pytest.mark.parametrize("preset", ["custom", "office365"])
def test_token_endpoint_errors_are_classified(idp, error, description, category, sign_in, preset):
    o = facade(idp)
    account = make_account(provider=preset)
    sign_in_with_device(idp, o, account)
    idp.fail_next("token", error, description, grant_type="refresh_token")
    with pytest.raises(OAuthError) as err:
        o.token_source(account).access_token(force_refresh=True)
    assert err.value.category == category
    assert err.value.needs_sign_in is sign_in
    assert err.value.error == error
    # The troubleshooting guide comes along, for the front ends to show.
    explanation = err.value.explanation
    assert explanation.category == category and explanation.steps and explanation.title
    # Only a refused grant is thrown away; a misconfigured client keeps it for after the fix.
    assert (oauth.load_grant(o.vault, account.name) is None) is sign_in


def test_invalid_client_when_starting_the_device_flow(idp):
    provider = facade(idp, client_id="not-registered").provider_for(make_account())
    with pytest.raises(OAuthError) as err:
        DeviceCodeFlow(provider, timeout=5).start()
    assert err.value.category == "oauth_misconfigured" and err.value.error == "invalid_client"


def test_unreachable_token_endpoint_is_a_network_error(idp):
    o = facade(idp)
    account = make_account()
    sign_in_with_device(idp, o, account)
    idp.stop()
    with pytest.raises(NetworkError) as err:
        o.token_source(account).access_token(force_refresh=True)
    assert err.value.category == "connection_refused"
    assert oauth.load_grant(o.vault, account.name) is not None


# --------------------------------------------------------------------------- token command


def test_token_command_prints_the_token(tmp_path):
    script = tmp_path / "token.sh"
    script.write_text('#!/bin/sh\nif [ "$TAMAGO_FORCE_REFRESH" = 1 ]; then echo fresh-$TAMAGO_ACCOUNT; '
                      'else echo cached-$TAMAGO_ACCOUNT; fi\necho ignored second line\n')
    script.chmod(0o755)
    account = make_account(token_command=f"{script} --user alice")
    o = oauth.OAuth(Config(), oauth.MemoryVault())
    source = o.token_source(account)
    assert isinstance(source, oauth.CommandTokenSource)
    assert source.access_token() == "cached-alice"
    seen = []

    def login(token):
        seen.append(token)
        if token.startswith("cached"):
            raise AuthError("refused")
        return token

    assert oauth.call_with_token(source, login) == "fresh-alice"
    assert o.status(account)["source"] == "token_command"


@pytest.mark.parametrize("command, words, category", [
    ("echo oops >&2; exit 3", "status 3: oops", "oauth_misconfigured"),
    ("true", "printed no token", "oauth_misconfigured"),
    ("sleep 5", "did not finish", "timeout"),
])
def test_token_command_failures(command, words, category):
    source = oauth.CommandTokenSource(make_account(token_command=command), timeout=0.5)
    with pytest.raises(OAuthError) as err:
        source.access_token()
    assert words in str(err.value) and err.value.category == category


# --------------------------------------------------------------------------- status, logout, secrecy


def test_status_and_logout_revokes_at_the_provider(idp):
    o = facade(idp)
    account = make_account()
    tokens = sign_in_with_device(idp, o, account)
    status = o.status(account)
    assert status["signed_in"] and status["provider"] == "test" and status["client_id_configured"]
    assert status["scopes"] == ["mail", "offline_access"]
    assert tokens.refresh_token not in repr(status) and tokens.access_token not in repr(status)
    result = o.logout(account)
    assert result == {"account": "alice", "removed": True, "revoked": True, "revoke_error": None}
    assert not idp.refresh_tokens[tokens.refresh_token].active
    assert o.status(account)["signed_in"] is False and o.status(account)["access_token_cached"] is False
    assert o.logout(account)["removed"] is False


def test_tokens_never_reach_the_log_or_error_messages(idp, tmp_path):
    logger = setup_log(tmp_path / "tamago.log", level=logging.DEBUG)
    o = facade(idp)
    account = make_account()
    tokens = sign_in_with_device(idp, o, account)
    fresh = o.token_source(account).access_token(force_refresh=True)
    logger.info("debug dump: %s %s refresh_token=%s", tokens.access_token, fresh, tokens.refresh_token)
    logger.info("AUTHENTICATE XOAUTH2 %s", "dXNlcj1hbGljZQFhdXRoPUJlYXJlciB4eHgBAQ==")
    text = (tmp_path / "tamago.log").read_text()
    for secret in (tokens.access_token, tokens.refresh_token, fresh, "dXNlcj1hbGljZQFhdXRo"):
        assert secret not in text
    assert "Refreshing the OAuth access token of alice" in text
    assert tokens.refresh_token not in repr(tokens) and tokens.access_token not in repr(tokens)


def test_access_token_for_front_ends_uses_the_secret_store(idp, services, monkeypatch):
    monkeypatch.setenv("TAMAGO_MASTER_PASSWORD", "master-passphrase-for-tests")
    account = make_account()
    services.save_config(Config(accounts={"alice": account}, oauth=facade(idp).config.oauth))
    sign_in_with_device(idp, oauth.for_services(services), account)
    oauth._cache.clear()  # as in a new process
    token = oauth.access_token(services, account)
    assert idp.introspect(token)["username"] == "alice@example.test"
    assert idp.token_calls("refresh_token") == 1
    assert oauth.access_token(services, account, oauth.vault_for(services)) == token  # cached now
    assert idp.token_calls("refresh_token") == 1


def test_a_configured_client_secret_never_reaches_the_log(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[oauth.google]\nclient_id = "123.apps.googleusercontent.com"\n'
                    'client_secret = "GOCSPX-not-really-secret-42"\n')
    loaded = config_mod.load(path)
    logger = setup_log(tmp_path / "tamago.log")
    logger.info("provider %r", oauth.load_providers(loaded.oauth)["google"].client_params())
    text = (tmp_path / "tamago.log").read_text()
    assert "GOCSPX-not-really-secret-42" not in text and "123.apps.googleusercontent.com" in text
    assert "GOCSPX" not in repr(oauth.load_providers(loaded.oauth)["google"])


# --------------------------------------------------------------------------- site defaults


def _site_file(root, text: str):
    path = root / "tamago" / "oauth.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_site_files_set_client_ids_for_everyone_and_the_user_config_wins(tmp_path, monkeypatch):
    first = _site_file(tmp_path / "etc-local", '[microsoft]\nclient_id = "site-first"\n')
    second = _site_file(tmp_path / "etc", '[microsoft]\nclient_id = "site-second"\ntenant = "organizations"\n'
                                          '[google]\nclient_id = "g.apps"\nclient_secret = "site-secret"\n'
                                          '[contoso]\nbase = "microsoft"\ntenant = "contoso.example"\n')
    # $XDG_CONFIG_DIRS lists the most important directory first.
    monkeypatch.setenv("XDG_CONFIG_DIRS", f"{tmp_path / 'etc-local'}:{tmp_path / 'etc'}")
    providers = oauth.load_providers()
    microsoft = providers["microsoft"]
    assert (microsoft.client_id, microsoft.client_id_from) == ("site-first", str(first))
    assert microsoft.tenant == "organizations"  # keys the first file does not set come from the next
    assert (providers["google"].client_id_from, providers["google"].client_secret) == (str(second), "site-secret")
    contoso = providers["contoso"]
    assert contoso.endpoint("token") == "https://login.microsoftonline.com/contoso.example/oauth2/v2.0/token"
    assert contoso.presets == () and contoso.domains == ()  # chosen by name, never by preset

    mine = oauth.load_providers({"microsoft": {"client_id": "mine"}, "google": {"tenant": "x"}})
    assert (mine["microsoft"].client_id, mine["microsoft"].client_id_from) == ("mine", "config.toml")
    assert mine["google"].client_id_from == str(second)  # the user's table did not set client_id
    assert oauth.load_providers(site=False)["microsoft"].client_id == ""


@pytest.mark.parametrize("text, words", [
    ("[microsoft\n", "not valid TOML"),
    ('[microsoft]\nclient_idd = "typo"\n', "[microsoft] in"),
    ('[x]\nbase = "nowhere"\n', "nowhere"),
])
def test_a_broken_site_file_is_a_config_error_naming_the_file(tmp_path, monkeypatch, text, words):
    path = _site_file(tmp_path / "etc", text)
    monkeypatch.setenv("XDG_CONFIG_DIRS", str(tmp_path / "etc"))
    with pytest.raises(ConfigError) as err:
        oauth.load_providers()
    assert words in str(err.value) and str(path) in str(err.value)
