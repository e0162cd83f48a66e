"""Knowledge at hand's ranking: the meaning search's confidence plus a bonus per triage label the entry
shares with the case; noise below the floor is left out; excerpts are one line."""

from __future__ import annotations

from caredesk.knowledge.at_hand import CONTENT_BONUS, MIN_SCORE, PROBLEM_BONUS, Topic, excerpt, rank_suggestions
from caredesk.knowledge.match import KbMatch

TOPICS = {"pw": Topic("system", "consultation"), "card": Topic("business", "consultation"),
          "fee": Topic("business", "complaint"), "noise": Topic("system", "consultation")}


def match(entry: str, score: float) -> KbMatch:
    return KbMatch(entry, 2, score, f"question {entry}", f"answer of {entry}")


def test_rank_suggestions_topic_bonus_reorders_close_matches() -> None:
    matches = [match("card", 0.50), match("fee", 0.48), match("pw", 0.42)]
    ranked = rank_suggestions(matches, TOPICS.get, Topic("system", "consultation"))
    assert [s.entry_id for s in ranked] == ["pw", "card", "fee"]
    assert ranked[0].score == round(0.42 + CONTENT_BONUS + PROBLEM_BONUS, 4) and ranked[0].same_topic
    assert ranked[1].score == round(0.50 + PROBLEM_BONUS, 4) and not ranked[1].same_topic  # one label shared
    assert ranked[2].score == 0.48
    assert (ranked[0].version, ranked[0].answer) == (2, "answer of pw")


def test_rank_suggestions_content_type_weighs_more_than_problem_type() -> None:
    """A complaint about a system fault: the system consultation beats a business complaint as close."""
    matches = [match("fee", 0.40), match("pw", 0.40)]
    ranked = rank_suggestions(matches, TOPICS.get, Topic("system", "complaint"))
    assert [s.entry_id for s in ranked] == ["pw", "fee"]
    assert [s.score for s in ranked] == [round(0.40 + CONTENT_BONUS, 4), round(0.40 + PROBLEM_BONUS, 4)]


def test_rank_suggestions_keeps_a_much_better_match_on_another_topic() -> None:
    matches = [match("fee", 0.95), match("pw", 0.30)]
    ranked = rank_suggestions(matches, TOPICS.get, Topic("system", "consultation"))
    assert [s.entry_id for s in ranked] == ["fee", "pw"]


def test_rank_suggestions_floor_limit_and_no_topic() -> None:
    matches = [match("card", 0.9), match("noise", MIN_SCORE - 0.001), match("fee", MIN_SCORE), match("pw", 0.2)]
    ranked = rank_suggestions(matches, TOPICS.get, None, limit=2)
    assert [s.entry_id for s in ranked] == ["card", "pw"]  # search order kept, no bonus without a case topic
    assert [s.entry_id for s in rank_suggestions(matches, TOPICS.get, None)] == ["card", "pw", "fee"]
    unknown = rank_suggestions([match("gone", 0.3)], lambda _: None, Topic("system", "consultation"))
    assert unknown[0].score == 0.3 and not unknown[0].same_topic


def test_excerpt_is_one_line_and_cut_with_an_ellipsis() -> None:
    assert excerpt("line one\n\n  line   two") == "line one line two"
    long = "密" * 200
    cut = excerpt(long, limit=10)
    assert cut == "密" * 9 + "…" and len(cut) == 10
    assert excerpt("x" * 10, limit=10) == "x" * 10
