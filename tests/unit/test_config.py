"""Host resolution (protocol.md §1: the web API host MUST be configurable) and network settings."""

from __future__ import annotations

import dataclasses
import math

import pytest

from copilot_anyio import UsageError
from copilot_anyio._checks import PROXY_SCHEMES, http_url
from copilot_anyio._config import (
    DEFAULT_API_URL,
    DEFAULT_GITHUB_API_URL,
    DEFAULT_GITHUB_URL,
    ENV_API_URL,
    ENV_GITHUB_API_URL,
    ENV_GITHUB_URL,
    Hosts,
    Limits,
    Timeouts,
)

LOCAL = "http://127.0.0.1:8765"
# (attribute, keyword argument, environment variable, default)
FIELDS = [
    pytest.param("github_url", ENV_GITHUB_URL, DEFAULT_GITHUB_URL, id="github"),
    pytest.param("github_api_url", ENV_GITHUB_API_URL, DEFAULT_GITHUB_API_URL, id="github-api"),
    pytest.param("api_url", ENV_API_URL, DEFAULT_API_URL, id="api"),
]
each_field = pytest.mark.parametrize(("attr", "env_name", "default"), FIELDS)


class TestDefaults:
    def test_public_hosts(self) -> None:
        assert (DEFAULT_GITHUB_URL, DEFAULT_GITHUB_API_URL, DEFAULT_API_URL) == (
            "https://github.com",
            "https://api.github.com",
            "https://api.individual.githubcopilot.com",
        )

    def test_environment_names(self) -> None:
        assert (ENV_GITHUB_URL, ENV_GITHUB_API_URL, ENV_API_URL) == (
            "COPILOT_GITHUB_URL",
            "COPILOT_GITHUB_API_URL",
            "COPILOT_API_URL",
        )

    def test_class_defaults(self) -> None:
        assert Hosts() == Hosts(DEFAULT_GITHUB_URL, DEFAULT_GITHUB_API_URL, DEFAULT_API_URL)

    def test_frozen(self) -> None:
        with pytest.raises(dataclasses.FrozenInstanceError):
            Hosts().api_url = LOCAL  # type: ignore[misc]


class TestResolve:
    @each_field
    def test_default(self, attr: str, env_name: str, default: str) -> None:
        assert getattr(Hosts.resolve({}), attr) == default

    @each_field
    def test_env_beats_default(self, attr: str, env_name: str, default: str) -> None:
        assert getattr(Hosts.resolve({env_name: LOCAL}), attr) == LOCAL

    @each_field
    def test_argument_beats_env(self, attr: str, env_name: str, default: str) -> None:
        hosts = Hosts.resolve({env_name: "https://from-env.example"}, **{attr: LOCAL})
        assert getattr(hosts, attr) == LOCAL

    @each_field
    def test_empty_env_means_default(self, attr: str, env_name: str, default: str) -> None:
        assert getattr(Hosts.resolve({env_name: ""}), attr) == default

    @each_field
    def test_fields_are_independent(self, attr: str, env_name: str, default: str) -> None:
        hosts = Hosts.resolve({env_name: LOCAL})
        others = [getattr(hosts, f.name) for f in dataclasses.fields(Hosts) if f.name != attr]
        assert LOCAL not in others

    def test_unrelated_env_ignored(self) -> None:
        assert Hosts.resolve({"GITHUB_URL": LOCAL, "COPILOT_URL": LOCAL}) == Hosts()

    def test_business_api_host(self) -> None:
        # protocol.md §1: a Business seat uses api.business…; there is no discovery.
        url = "https://api.business.githubcopilot.com"
        assert Hosts.resolve({}, api_url=url).api_url == url

    @pytest.mark.parametrize(
        ("given", "expected"),
        [
            (f"{LOCAL}/", LOCAL),
            (f"{LOCAL}//", LOCAL),
            ("https://github.com/", "https://github.com"),
            (f"  {LOCAL}/  ", LOCAL),
            ("https://proxy.example/copilot/", "https://proxy.example/copilot"),
        ],
    )
    def test_trailing_slash_stripped(self, given: str, expected: str) -> None:
        assert Hosts.resolve({}, api_url=given).api_url == expected
        assert Hosts.resolve({ENV_API_URL: given}).api_url == expected

    @pytest.mark.parametrize(
        "url",
        [
            "github.com",
            "ftp://github.com",
            "ws://127.0.0.1:1",
            "https:/github.com",
            "/x",
            "",
            "https://github.com?x=1",
            "https://github.com/#top",
            "https://git hub.com",
            "https://github.com\r\nX: y",
            "http://127.0.0.1:99999",
        ],
    )
    def test_bad_url_refused_naming_its_place(self, url: str) -> None:
        with pytest.raises(UsageError, match=r"^github_url"):
            Hosts.resolve({}, github_url=url)

    def test_non_http_env_refused_naming_the_variable(self) -> None:
        with pytest.raises(UsageError, match=ENV_API_URL):
            Hosts.resolve({ENV_API_URL: "api.githubcopilot.com"})

    @pytest.mark.parametrize("value", [42, b"https://github.com"])
    def test_a_url_that_is_not_a_string_is_a_usage_error(self, value: object) -> None:
        with pytest.raises(UsageError, match="api_url"):
            Hosts.resolve({}, api_url=value)  # type: ignore[arg-type]

    def test_http_allowed(self) -> None:
        assert Hosts.resolve({}, github_url=LOCAL).github_url == LOCAL


class TestNetworkSettings:
    def test_timeouts_defaults(self) -> None:
        t = Timeouts()
        assert (t.connect, t.first_byte, t.idle, t.write) == (10.0, 60.0, 120.0, 30.0)
        assert math.isinf(t.pool)

    def test_idle_outlasts_first_byte(self) -> None:
        # Streams pause for long stretches (protocol.md §4.1 rule 8): no short idle timeout.
        assert Timeouts().idle >= 60.0

    def test_limits_defaults(self) -> None:
        limits = Limits()
        assert (limits.max_concurrent_requests, limits.stream_buffer) == (100, None)

    def test_frozen(self) -> None:
        with pytest.raises(dataclasses.FrozenInstanceError):
            Timeouts().idle = 1.0  # type: ignore[misc]


class TestSettingsAreChecked:
    @pytest.mark.parametrize("name", ["connect", "first_byte", "idle", "write", "pool"])
    @pytest.mark.parametrize("value", [0, -1, math.nan, "5", None, True])
    def test_bad_timeouts_name_the_field(self, name: str, value: object) -> None:
        with pytest.raises(UsageError, match=f"Timeouts.{name}"):
            Timeouts(**{name: value})  # type: ignore[arg-type]

    @pytest.mark.parametrize("name", ["connect", "first_byte", "idle", "write", "pool"])
    def test_infinity_turns_a_timeout_off(self, name: str) -> None:
        assert math.isinf(getattr(Timeouts(**{name: math.inf}), name))

    @pytest.mark.parametrize("value", [0, -3, 1.5, "10", None, True])
    def test_nonsense_concurrency_is_refused(self, value: object) -> None:
        # max_concurrent_requests=0 would make every request wait forever.
        with pytest.raises(UsageError, match=r"Limits\.max_concurrent_requests"):
            Limits(max_concurrent_requests=value)  # type: ignore[arg-type]

    @pytest.mark.parametrize("value", [-1, 0.5, "16"])
    def test_bad_stream_buffer_is_refused(self, value: object) -> None:
        with pytest.raises(UsageError, match=r"Limits\.stream_buffer"):
            Limits(stream_buffer=value)  # type: ignore[arg-type]

    @pytest.mark.parametrize("value", [0, 16])
    def test_stream_buffer_is_accepted_but_deprecated(self, value: int) -> None:
        # Old code still runs: the setting is kept and ignored, with a warning naming it.
        with pytest.warns(DeprecationWarning, match=r"Limits\.stream_buffer is ignored"):
            assert Limits(stream_buffer=value).stream_buffer == value


@pytest.mark.parametrize(
    "url",
    [
        "http://user:CANARYpw@127.0.0.1:99999",
        "ftp://user:CANARYpw@proxy.example",
        "http://user:CANARYpw@proxy.example?x=1",
        "http://user:CANARYpw@proxy example",
    ],
)
def test_a_refused_url_never_repeats_its_password(url: str) -> None:
    with pytest.raises(UsageError, match="proxy") as info:
        http_url(url, "proxy", schemes=PROXY_SCHEMES)
    assert "CANARY" not in str(info.value)
    assert "<redacted>@" in str(info.value)
