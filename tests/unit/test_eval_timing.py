"""Latency in `caredesk eval` times each test message on its first sight: the warm-up must not put test texts in
the encoder's cache, or a small test set would be timed as repeats."""

from collections import Counter

from caredesk.triage.evaluate import WARM_UP_TEXTS, timed_predictions


def test_each_test_text_is_predicted_once_and_the_warm_up_uses_none_of_them() -> None:
    calls: list[str] = []
    texts = ["密码忘了怎么办", "my card was stolen", "how do I top up"]

    results, timings = timed_predictions(lambda t: calls.append(t) or t.upper(), texts)

    assert results == [t.upper() for t in texts]
    assert Counter(calls)[texts[0]] == 1 and Counter(calls)[texts[1]] == 1 and Counter(calls)[texts[2]] == 1
    assert calls[-3:] == texts  # timed last, after the warm-up
    assert set(calls[:-3]) == set(WARM_UP_TEXTS)
    assert len(timings.wall) == len(timings.cpu) == 3
