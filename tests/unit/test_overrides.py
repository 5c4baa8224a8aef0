"""local.overrides: the `--parameter-overrides` syntax and the secrets file, checked against template.yaml."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from local import config
from local.overrides import OverridesError, Settings, from_env, load_secrets_file, parse_parameter_overrides


def test_key_value_pairs() -> None:
    assert parse_parameter_overrides("LiveVoxApiUrl=http://127.0.0.1:9/lv LogLevel=DEBUG") == {
        "LiveVoxApiUrl": "http://127.0.0.1:9/lv", "LogLevel": "DEBUG"}


def test_long_form_and_mixed() -> None:
    text = "ParameterKey=SiteName,ParameterValue=Shop ParameterKey=LogLevel,ParameterValue=ERROR VendorReadTimeout=3"
    assert parse_parameter_overrides(text) == {"SiteName": "Shop", "LogLevel": "ERROR", "VendorReadTimeout": "3"}


def test_quoted_values_keep_spaces_commas_and_equals() -> None:
    text = """SiteName="My shop, online" ParameterKey=SupportUrl,ParameterValue='https://x.example/?a=b c'"""
    assert parse_parameter_overrides(text) == {"SiteName": "My shop, online", "SupportUrl": "https://x.example/?a=b c"}


def test_empty_value_and_empty_text() -> None:
    assert parse_parameter_overrides("LoudVoiceApiUrl=") == {"LoudVoiceApiUrl": ""}
    assert parse_parameter_overrides("  ") == {}


@pytest.mark.parametrize(("text", "says"), [
    ("NoSuchParameter=1", "no parameter 'NoSuchParameter'"),
    ("LogLevel=LOUD", "LogLevel must be one of DEBUG, INFO, WARNING, ERROR"),
    ("LiveVoxApiUrl", "neither Key=Value"),
    ("ParameterKey=LogLevel", "neither Key=Value"),
    ("SiteName='unclosed", "quote values"),
    ("Site-Name=x", "not a parameter name"),
])
def test_bad_overrides_name_the_problem(text: str, says: str) -> None:
    with pytest.raises(OverridesError, match="AUTHHOOKS_PARAMETER_OVERRIDES") as raised:
        parse_parameter_overrides(text)
    assert says in str(raised.value)


def write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "secrets.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def test_secrets_file_replaces_only_the_secrets_it_gives(tmp_path: Path) -> None:
    path = write(tmp_path, {"BazaarvoiceSecret": {"passkey": "stg-passkey-123"}})
    settings = Settings(secrets=load_secrets_file(path), secrets_file=str(path))
    merged = settings.stack_secrets()
    assert merged["BazaarvoiceSecret"] == {"passkey": "stg-passkey-123"}
    assert merged["LiveVoxSecret"] == config.DEMO_SECRETS["LiveVoxSecret"]


def test_livevox_session_key_is_generated_like_a_deployment(tmp_path: Path) -> None:
    path = write(tmp_path, {"LiveVoxSecret": {"access_token": "tok", "accounts": {}}})
    loaded = load_secrets_file(path)["LiveVoxSecret"]
    assert loaded["access_token"] == "tok"
    assert len(loaded["session_key"]) >= 48
    given = write(tmp_path, {"LiveVoxSecret": {"access_token": "tok", "accounts": {}, "session_key": "mine"}})
    assert load_secrets_file(given)["LiveVoxSecret"]["session_key"] == "mine"


@pytest.mark.parametrize(("data", "says"), [
    ("{not json", "is not JSON (line 1"),
    ([], "must hold a JSON object"),
    ({}, "must hold a JSON object"),
    ({"PassKey": {"passkey": "x"}}, "'PassKey', which is not a secret in template.yaml"),
    ({"BazaarvoiceSecret": "x"}, "BazaarvoiceSecret must be a JSON object"),
    ({"LoudVoiceSecret": {"public_key": "p"}}, "LoudVoiceSecret lacks private_key"),
])
def test_bad_secrets_files_name_the_problem(tmp_path: Path, data: object, says: str) -> None:
    with pytest.raises(OverridesError, match="AUTHHOOKS_SECRETS_FILE") as raised:
        load_secrets_file(write(tmp_path, data))
    assert says in str(raised.value)


def test_errors_never_quote_a_secret(tmp_path: Path) -> None:
    with pytest.raises(OverridesError) as raised:
        load_secrets_file(write(tmp_path, '{"BazaarvoiceSecret": {"passkey": "TOP-SECRET-VALUE",}}'))
    assert "TOP-SECRET-VALUE" not in str(raised.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(OverridesError, match=r"cannot read .*nope\.json"):
        load_secrets_file(tmp_path / "nope.json")


def test_from_env_and_what_the_banner_says(tmp_path: Path) -> None:
    path = write(tmp_path, {"LiveVoxSecret": {"access_token": "REAL-TOKEN", "accounts": {}}})
    settings = from_env({"AUTHHOOKS_PARAMETER_OVERRIDES": "LiveVoxApiUrl=https://api.na4.livevox.com LogLevel=DEBUG",
                         "AUTHHOOKS_SECRETS_FILE": str(path)})
    assert settings.sandboxed() == {"Bazaarvoice", "LoudVoice"}
    vendors = settings.vendors()
    assert vendors["LiveVox"] == f"REAL: LiveVoxApiUrl=https://api.na4.livevox.com (secret from {path})"
    assert vendors["Bazaarvoice"] == "sandbox (demo secret)"
    assert "REAL-TOKEN" not in repr(vendors)
    assert from_env({}) == Settings()


def test_a_loudvoice_subdomain_alone_means_oneall_not_the_sandbox() -> None:
    settings = Settings(parameters={"LoudVoiceSubdomain": "mysite"})
    assert settings.stack_parameters() == {"LoudVoiceApiUrl": "", "LoudVoiceSubdomain": "mysite"}
    env = config.function_environments("http://127.0.0.1:9", settings.stack_parameters())["LoudVoiceSessionFunction"]
    assert env["LOUDVOICE_API_URL"] == ""
    assert env["LOUDVOICE_SUBDOMAIN"] == "mysite"
    assert "LoudVoice" not in settings.sandboxed()
