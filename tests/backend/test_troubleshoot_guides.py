"""Guides as data: complete, current, provider-aware; explain(), diagnose() and to_error()."""

from __future__ import annotations

import re
import tomllib
from datetime import date
from importlib import resources

import pytest

from tamago_tui.backend.errors import AuthError, NetworkError, TamagoError, UsageError
from tamago_tui.backend.models import Account, Security, ServerSettings
from tamago_tui.backend.troubleshoot import (
    CATEGORIES,
    PROVIDERS,
    FailureContext,
    alternate_username,
    diagnose,
    explain,
    guide_for,
    guides_for_provider,
    to_error,
)
from tamago_tui.backend.troubleshoot_guides import GuideDataError, parse

APP_PASSWORD_PROVIDERS = ("gmail", "yahoo", "aol", "icloud", "fastmail", "yandex")


def raw_guides() -> dict:
    text = resources.files("tamago_tui").joinpath("data").joinpath("guides.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def test_every_category_has_a_generic_guide_and_only_known_providers_have_variants():
    data = raw_guides()
    assert set(k for k, v in data.items() if isinstance(v, dict)) == set(CATEGORIES)
    for category in CATEGORIES:
        variants = {k for k, v in data[category].items() if isinstance(v, dict)}
        assert variants <= set(PROVIDERS) - {"custom"}, (category, variants)
        generic = guide_for(category)
        assert generic.provider is None and generic.title and generic.cause and generic.steps


def test_guides_are_dated_and_link_only_over_https():
    reviewed = date.fromisoformat(raw_guides()["reviewed"])
    assert reviewed.year >= 2026
    for provider in (None, *PROVIDERS):
        for guide in guides_for_provider(provider):
            assert date.fromisoformat(guide.reviewed) == reviewed
            for link in guide.links:
                assert link.startswith("https://"), link


def test_provider_variants_exist_where_the_fix_differs():
    for provider in APP_PASSWORD_PROVIDERS:
        guide = guide_for("invalid_credentials", provider)
        assert guide.provider == provider
        assert re.search(r"app(?:-specific)? password", " ".join((guide.cause, *guide.steps)), re.I), provider
    for provider in ("outlook", "office365"):
        assert "OAuth" in " ".join(guide_for("basic_auth_disabled", provider).steps)
    assert guide_for("smtp_auth_disabled", "office365").provider == "office365"
    assert guide_for("consent_required", "office365").provider == "office365"
    assert guide_for("imap_disabled", "google_workspace").provider == "google_workspace"
    assert guide_for("app_password_required", "gmail").links[0] == "https://support.google.com/accounts/answer/185833"


def test_fallbacks():
    assert guide_for("web_login_required", "google_workspace").provider == "google_workspace"
    assert guide_for("tls_mismatch", "google_workspace").provider is None
    assert guide_for("invalid_credentials", "custom").provider is None
    assert guide_for("invalid_credentials", "Hotmail").provider == "outlook"  # an alias
    assert len(guides_for_provider("yahoo")) == len(CATEGORIES)
    with pytest.raises(UsageError):
        guide_for("invalid_credentials", "compuserve")
    with pytest.raises(UsageError):
        guide_for("no_such_category")


def test_guidance_is_current():
    everything = " ".join(
        " ".join((g.title, g.cause, *g.steps)) for p in (None, *PROVIDERS) for g in guides_for_provider(p)
    ).lower()
    # Google removed "less secure apps": guides may only say so, never tell people to turn it on.
    for sentence in re.split(r"(?<=[.:;])\s", everything):
        if "less secure app" in sentence:
            assert re.search(r"no longer|removed|gone|will not help|cannot be switched back", sentence), sentence
    assert "993 ssl/tls" in everything and "143 starttls" in everything
    assert "465 ssl/tls" in everything and "587 starttls" in everything
    office = " ".join(guide_for("basic_auth_disabled", "office365").steps)
    assert "2022" in guide_for("basic_auth_disabled", "office365").cause and "SMTP AUTH" in office


def test_guide_data_is_validated():
    with pytest.raises(GuideDataError):
        parse({"unknown": {"title": "t", "cause": "c", "steps": []}})
    with pytest.raises(GuideDataError):
        parse({"unknown": {"title": "t", "steps": ["s"]}})
    with pytest.raises(GuideDataError):
        parse({"unknown": {"title": "t", "cause": "c", "steps": ["s"], "stepz": []}})


def test_alternate_username():
    assert alternate_username("jane@example.com", "jane@example.com") == "jane"
    assert alternate_username("jane", "jane@example.com") == "jane@example.com"
    assert alternate_username("j.doe", "jane@example.com") == "j.doe@example.com"
    assert alternate_username("", "jane@example.com") == "jane"
    assert alternate_username("jane", None) is None
    assert alternate_username(None, None) is None


def test_explain_offers_the_other_username_form_for_credential_failures():
    result = explain("a1 NO [AUTHENTICATIONFAILED] Authentication failed.", username="jane@example.com",
                     email="jane@example.com")
    assert result.category == "invalid_credentials"
    assert result.alternate_username == "jane"
    assert "'jane'" in result.steps[-1]
    other = explain("[SSL: WRONG_VERSION_NUMBER] wrong version number", username="jane", email="jane@example.com")
    assert other.alternate_username is None


def test_explain_to_dict_is_the_json_contract():
    data = explain("AADSTS90094: The grant requires admin permission.", provider="office365").to_dict()
    assert list(data)[:3] == ["category", "confidence", "title"]
    assert {"category", "confidence", "title", "steps", "links"} <= set(data)
    assert data["category"] == "consent_required"
    assert isinstance(data["steps"], list) and isinstance(data["links"], list)


def test_explain_redacts_secrets_in_the_detail():
    from tamago_tui.backend.log import register_secret

    register_secret("hunter2-secret")
    result = explain("LOGIN jane hunter2-secret => NO [AUTHENTICATIONFAILED] Authentication failed.")
    assert "hunter2-secret" not in result.detail
    assert result.category == "invalid_credentials"


def account(provider: str = "office365", auth: str = "password") -> Account:
    return Account(
        name="work",
        email="jane@example.com",
        imap=ServerSettings("outlook.office365.com", 993, Security.SSL, "jane@example.com"),
        smtp=ServerSettings("smtp.office365.com", 587, Security.STARTTLS, "jane@example.com"),
        provider=provider,
        auth=auth,
    )


def test_diagnose_uses_the_account_context():
    context = FailureContext.for_account(account(), "imap")
    assert (context.provider, context.protocol, context.port, context.security) == ("office365", "imap", 993, "ssl")
    failure = Exception("b'[AUTHENTICATIONFAILED] AUTHENTICATE failed.'")
    assert diagnose(failure, context).category == "basic_auth_disabled"
    oauth = FailureContext.for_account(account(auth="oauth2"), "imap")
    assert diagnose(failure, oauth).category == "oauth_misconfigured"
    smtp = FailureContext.for_account(account(), "smtp")
    assert smtp.port == 587 and smtp.security == "starttls"


def test_diagnose_tolerates_an_unknown_provider_preset():
    result = diagnose(ConnectionRefusedError(111, "Connection refused"), FailureContext(provider="not-a-provider"))
    assert result.category == "connection_refused"
    assert result.provider is None


def test_to_error_translates_library_exceptions():
    error = to_error(ConnectionRefusedError(111, "Connection refused"), FailureContext(protocol="imap", port=993))
    assert isinstance(error, NetworkError) and not isinstance(error, AuthError)
    assert error.category == "connection_refused"
    assert error.explanation.steps
    auth = to_error(Exception("NO [ALERT] Application-specific password required"), FailureContext(provider="gmail"))
    assert isinstance(auth, AuthError)
    assert auth.category == "app_password_required"
    assert auth.title == guide_for("app_password_required", "gmail").title


def test_to_error_keeps_a_tamago_error_and_fills_in_its_category():
    original = NetworkError("TLS handshake: [SSL: WRONG_VERSION_NUMBER] wrong version number")
    assert original.category == "unknown"
    same = to_error(original)
    assert same is original
    assert same.category == "tls_mismatch"
    kept = to_error(TamagoError("whatever", category="dns_failure"))
    assert kept.category == "dns_failure"


def test_provider_ids_match_the_presets():
    from tamago_tui.backend import providers

    assert tuple(p.id for p in providers.all_providers()) == PROVIDERS
