"""The triage lexicons' schemas: the shipped files load into the same Lexicons as before they had one, and a bad
lexicon is one InvalidConfig with file, line and field path."""

from __future__ import annotations

from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from caredesk.config_files import load_config
from caredesk.errors import InvalidConfig
from caredesk.triage import lexicon_files
from caredesk.triage.components.lexicon_rules import (
    Lexicons,
    complaint_of,
    emotion_cues_of,
    hard_rules_of,
    load_lexicons,
)
from caredesk.triage.lexicon_files import ComplaintLexicon, EmotionLexicon, HowToLexicon, UrgencyLexicon, read_lexicon

URGENCY = "hard:\n  fraud: [Fraud]\nprevention: [prevent]\nurgent: []\nattention:\nhandoff: [agent please]\n"


@pytest.fixture
def fresh_lexicons() -> Iterator[None]:
    load_lexicons.cache_clear()
    yield
    load_lexicons.cache_clear()


def _without_schema() -> Lexicons:
    """What the loader built from the shipped files with yaml.safe_load, before the schemas."""
    def read(name: str) -> Any:
        return yaml.safe_load(resources.files("caredesk.triage").joinpath(f"lexicons/{name}").read_text("utf-8"))

    def phrases(values: Any) -> tuple[str, ...]:
        return tuple(str(p).lower() for p in values or ())

    urgency = read("urgency.yaml")
    how_to = read("how_to.yaml")
    return Lexicons(
        complaint={t: phrases(v["phrases"]) for t, v in read("complaint.yaml")["types"].items()},
        hard={k: phrases(v) for k, v in urgency["hard"].items()}, prevention=phrases(urgency["prevention"]),
        urgent=phrases(urgency["urgent"]), attention=phrases(urgency["attention"]),
        handoff=phrases(urgency["handoff"]), emotion={k: phrases(v) for k, v in read("emotion.yaml").items()},
        how_to_forms=phrases(how_to["forms"]), how_to_framing=phrases(how_to["framing"]))


def test_shipped_lexicons_load_unchanged(fresh_lexicons: None) -> None:
    lex, before = load_lexicons(), _without_schema()
    assert lex == before
    assert (list(lex.complaint), list(lex.hard), list(lex.emotion)) == (
        list(before.complaint), list(before.hard), list(before.emotion))  # the order the rules are tried in
    assert read_lexicon(ComplaintLexicon, "complaint.yaml").types["regulator"].phrases[0] == "12378"
    assert set(read_lexicon(UrgencyLexicon, "urgency.yaml").hard) == {"outage", "fraud", "theft", "safety"}
    assert set(read_lexicon(EmotionLexicon, "emotion.yaml").root) == {"angry", "anxious", "satisfied"}
    assert "怎么办理" in read_lexicon(HowToLexicon, "how_to.yaml").forms


def test_a_lexicon_is_read_as_written_and_lower_cased_by_the_rules(tmp_path: Path) -> None:
    path = tmp_path / "urgency.yaml"
    path.write_text(URGENCY, encoding="utf-8")
    urgency = load_config(UrgencyLexicon, path)
    assert urgency.hard == {"fraud": ["Fraud"]} and urgency.attention == []  # an empty key has no phrases
    path = tmp_path / "complaint.yaml"
    path.write_text("types:\n  regulator:\n    phrases: [12378, 银保监]\n", encoding="utf-8")
    assert load_config(ComplaintLexicon, path).types["regulator"].phrases == ["12378", "银保监"]


@pytest.mark.parametrize(("model", "text", "message"), [
    # wrong type
    (ComplaintLexicon, "types:\n  abuse:\n    phrases: [a, {b: c}]\n",
     "3: types.abuse.phrases[1]: Input should be a valid string"),
    (ComplaintLexicon, "types:\n  abuse:\n    phrases: rude\n", "3: types.abuse.phrases: Input should be a valid list"),
    (EmotionLexicon, "angry: [a]\nanxious: 3\n", "2: anxious: Input should be a valid list"),
    (EmotionLexicon, "- angry\n", "1: Input should be a valid dictionary"),
    (UrgencyLexicon, URGENCY.replace("[prevent]", "[prevent, yes]"),  # YAML 1.1: yes is true, not a phrase
     "3: prevention[1]: Input should be a valid string"),
    (UrgencyLexicon, URGENCY.replace("[agent please]", "[agent please, '']"),
     "6: handoff[1]: String should have at least 1 character"),
    # unknown key
    (ComplaintLexicon, "types:\n  abuse:\n    phrases: [a]\n    words: [b]\n",
     "4: types.abuse.words: Extra inputs are not permitted"),
    (ComplaintLexicon, "types:\n  rude:\n    phrases: [a]\n", "2: types.rude: unknown complaint type 'rude'"),
    (EmotionLexicon, "angry: [a]\nneutral: [b]\n", "2: neutral: no cues for emotion 'neutral'"),
    (UrgencyLexicon, URGENCY + "urgnet: [now]\n", "7: urgnet: Extra inputs are not permitted"),
    (UrgencyLexicon, URGENCY.replace("fraud:", "Card Fraud:"), "2: hard.Card Fraud: String should match pattern"),
    # missing field
    (ComplaintLexicon, "types:\n  abuse:\n    phrase: [a]\n", "2: types.abuse.phrases: Field required"),
    (ComplaintLexicon, "kinds: {}\n", "1: types: Field required"),
    (UrgencyLexicon, URGENCY.replace("urgent: []\n", ""), "1: urgent: Field required"),
    # bad YAML
    (ComplaintLexicon, "types:\n  abuse:\n    phrases: [a, b\n",
     "4: not valid YAML: while parsing a flow sequence"),
    (UrgencyLexicon, "hard:\n  fraud: [a]\n prevention: []\n", "3: not valid YAML:"),
])
def test_a_bad_lexicon_names_file_line_and_field(tmp_path: Path, model: type[BaseModel], text: str,
                                                 message: str) -> None:
    path = tmp_path / "lexicon.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InvalidConfig) as caught:
        load_config(model, path)
    assert caught.value.message.startswith(f"{path}:{message}")


def test_a_bad_shipped_lexicon_fails_the_whole_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    fresh_lexicons: None) -> None:
    shipped = resources.files("caredesk.triage").joinpath("lexicons")
    (tmp_path / "lexicons").mkdir()
    for name in ("complaint.yaml", "emotion.yaml"):
        (tmp_path / "lexicons" / name).write_text(shipped.joinpath(name).read_text("utf-8"), encoding="utf-8")
    (tmp_path / "lexicons" / "urgency.yaml").write_text(URGENCY.replace("fraud: [Fraud]", "fraud: Fraud"),
                                                        encoding="utf-8")
    monkeypatch.setattr(lexicon_files, "resources", SimpleNamespace(files=lambda _package: tmp_path))
    with pytest.raises(InvalidConfig) as caught:
        load_lexicons()
    assert caught.value.message == "triage/lexicons/urgency.yaml:2: hard.fraud: Input should be a valid list"


@pytest.mark.parametrize(("text", "fires"), [
    ("how do i stop fraud on my card?", False),
    ("how do i protect my account from fraud", False),  # words between the two
    ("如何防止信用卡被盗刷", False),
    ("someone used my card, fraud!", True),
    ("i want to know how do i stop it. yesterday somebody made a fraudulent payment", True),  # another clause
    ("i tried to avoid the queue at the branch all week and now there is a fraudulent charge", True),  # far back
    ("如果银行卡被盗刷了应该怎么办", False),  # a hypothesis
    ("what should i do if my card is stolen", False),
    ("what should i do if i think there are unauthorized transactions?", False),  # "if" a few words back
    ("if my phone was stolen, do i need to do anything?", False),
    ("i have been notified my card was stolen", True),  # "if" inside a word is no hypothesis
    ("听说最近有冒充银行客服的诈骗电话，要注意什么", False),  # hearsay
    ("my card was stolen, what should i do", True),
    ("卡里多了一笔非本人交易", True),
])
def test_a_prevention_phrase_in_the_hard_phrases_clause_stops_it(text: str, fires: bool) -> None:
    assert bool(hard_rules_of(text, load_lexicons())) is fires


@pytest.mark.parametrize(("text", "rule"), [
    ("营业厅地面太滑，我妈摔倒了", "safety"),  # someone hurt on the premises
    ("i slipped and fell on the wet floor at your branch", "safety"),
    ("门口放个牌子提醒老人小心滑倒吧", None),  # a suggestion to prevent it
    ("my card got bent in my wallet", None),
])
def test_someone_hurt_is_a_safety_rule(text: str, rule: str | None) -> None:
    assert sorted(hard_rules_of(text, load_lexicons())) == ([rule] if rule else [])


@pytest.mark.parametrize(("text", "media"), [
    ("i read in the news that customers lost money to fake texts, what do you do about it", False),
    ("fix this today or i go to the news", True),
    ("不处理我就发抖音曝光", True),
])
def test_reading_the_news_is_no_media_threat(text: str, media: bool) -> None:
    assert ("media" in complaint_of(text, load_lexicons())) is media


@pytest.mark.parametrize(("text", "anxious"), [
    ("卡丢了怎么办啊", True),  # worry about what happened
    ("密码锁了，今天要付款，怎么办", True),  # the cue's own clause has no how-to framing
    ("怎么办理大额存单", False),  # 怎么办理: how is it done
    ("我想开个定期账户怎么办", False),  # an intention
    ("如果存单到期了我在外地怎么办", False),  # a hypothesis
    ("我想开户，卡丢了怎么办", True),  # the framing is in another clause
])
def test_an_anxious_cue_in_a_how_to_question_does_not_count(text: str, anxious: bool) -> None:
    assert ("anxious" in emotion_cues_of(text, load_lexicons())) is anxious
