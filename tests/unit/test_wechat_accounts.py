"""channels.yaml and the CAREDESK_WECHAT_* variables: accounts read, and every mistake stops the start with the
file, line and field (secrets are named by variable, never written in the file)."""

from __future__ import annotations

from pathlib import Path

import pytest

from caredesk.channels.wechat.accounts import example_file, load_accounts
from caredesk.errors import InvalidConfig
from caredesk.settings import Settings

KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"


def settings(tmp_path: Path, text: str | None = None, **values: object) -> Settings:
    if text is not None:
        (tmp_path / "channels.yaml").write_text(text, encoding="utf-8")
        values["channels_file"] = tmp_path / "channels.yaml"
    return Settings(environment="test", **values)  # type: ignore[arg-type]


def test_accounts_shipped_example_enables_nothing() -> None:
    assert example_file().exists()
    accounts = load_accounts(Settings(environment="test"), env={})
    assert not accounts.wechat and not accounts.wecom


def test_accounts_from_environment_and_file(tmp_path: Path) -> None:
    s = settings(tmp_path, "wechat:\n  - name: cards\n    app_id: wx2\n    token_env: T2\n    aes_key_env: K2\n"
                           "wecom:\n  - name: support\n    corp_id: ww1\n    open_kfid: wk1\n    token_env: T3\n"
                           "    aes_key_env: K2\n    api_base: http://127.0.0.1:9/\nsms:\n  anything: here\n",
                 wechat_token="t1", wechat_app_id="wx1", wechat_app_secret="s1")
    accounts = load_accounts(s, env={"T2": "t2", "K2": KEY, "T3": "t3"})
    assert sorted(accounts.wechat) == ["cards", "default"]
    default, cards, support = accounts.wechat["default"], accounts.wechat["cards"], accounts.wecom["support"]
    assert (default.token, default.aes_key, default.secret, default.crypto) == ("t1", None, "s1", None)
    assert (cards.app_id, cards.aes_key, cards.secret, cards.api_base) == ("wx2", KEY, None, "https://api.weixin.qq.com")
    assert (support.app_id, support.open_kfid, support.api_base) == ("ww1", "wk1", "http://127.0.0.1:9")
    assert "t2" not in repr(cards) and KEY not in repr(cards)  # secrets stay out of logs and tracebacks


@pytest.mark.parametrize(("text", "env", "where"), [
    ("wechat:\n  - name: cards\n    app_id: wx2\n    token_env: UNSET_VAR\n", {}, (4, "wechat[0].token_env")),
    ("wechat:\n  - name: cards\n    app_id: wx2\n    token_env: T\n    aes_key_env: K\n", {"T": "t", "K": "short"},
     (5, "wechat[0].aes_key_env")),
    ("wechat:\n  - name: Cards!\n    app_id: wx2\n    token_env: T\n", {"T": "t"}, (2, "wechat[0].name")),
    ("wechat:\n  - name: a\n    app_id: x\n    token_env: T\n  - name: a\n    app_id: y\n    token_env: T\n",
     {"T": "t"}, (5, "wechat[1].name")),
    ("wecom:\n  - name: s\n    corp_id: ww\n    token_env: T\n    aes_key_env: K\n", {"T": "t", "K": KEY},
     (2, "wecom[0].open_kfid")),
    # a secret written in the file is refused: the file names its variable instead
    ("wechat:\n  - name: a\n    app_id: x\n    token: in-the-file\n", {}, (2, "wechat[0].token_env")),
    ("wechat: [unclosed\n", {}, (2, "")),
])
def test_accounts_mistakes_name_file_line_and_field(tmp_path: Path, text: str, env: dict[str, str],
                                                    where: tuple[int, str]) -> None:
    with pytest.raises(InvalidConfig) as caught:
        load_accounts(settings(tmp_path, text), env=env)
    assert (caught.value.line, caught.value.path) == where


def test_accounts_environment_needs_app_id_and_a_real_key(tmp_path: Path) -> None:
    with pytest.raises(InvalidConfig, match="CAREDESK_WECHAT_APP_ID"):
        load_accounts(settings(tmp_path, wechat_token="t"), env={})
    with pytest.raises(InvalidConfig, match="CAREDESK_WECHAT_AES_KEY"):
        load_accounts(settings(tmp_path, wechat_token="t", wechat_app_id="wx", wechat_aes_key="nope"), env={})
