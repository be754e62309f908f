"""Named entities: the generated data keeps its promises, span F1 on hand cases, the taggers' contracts."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lstmlib.data.entities import (
    TAGS,
    TEST_TEMPLATES,
    TRAIN_TEMPLATES,
    entity_pools,
    entity_sentences,
    load_news_sentences,
    parse_bracketed,
)
from lstmlib.metrics import bio_spans, entity_f1
from lstmlib.models.ner import (
    FeatureCRF,
    Gazetteer,
    MostFrequentTag,
    NERTagger,
    NERTaggerConfig,
    TokenEncoder,
    word_shape,
)
from lstmlib.text import CharVocab

# ---------------------------------------------------------------------------------------------------- span F1


def test_bio_spans_on_hand_cases():
    assert bio_spans(["B-PER", "I-PER", "O", "B-LOC"]) == {("PER", 0, 2), ("LOC", 3, 4)}
    assert bio_spans(["B-PER", "B-PER"]) == {("PER", 0, 1), ("PER", 1, 2)}  # two adjacent entities
    assert bio_spans(["O", "I-ORG", "I-ORG"]) == {("ORG", 1, 3)}  # I- after O opens an entity (CoNLL)
    assert bio_spans(["B-PER", "I-LOC"]) == {("PER", 0, 1), ("LOC", 1, 2)}  # a type change splits
    assert bio_spans(["I-LOC"]) == {("LOC", 0, 1)}
    assert bio_spans([]) == set() and bio_spans(["O", "O"]) == set()
    with pytest.raises(ValueError, match=r"tags\[1\] must be 'O', 'B-<type>' or 'I-<type>'; got 'PER'"):
        bio_spans(["O", "PER"])
    with pytest.raises(TypeError, match="not one str"):
        bio_spans("B-PER")


def test_entity_f1_on_hand_cases():
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O"]]
    # PER right; LOC wrong type; ORG too long (exact spans: a wrong end is a miss and a false alarm)
    predicted = [["B-PER", "I-PER", "O", "B-ORG"], ["B-ORG", "I-ORG"]]
    scores = entity_f1(gold, predicted)
    assert scores["all"]["precision"] == pytest.approx(1 / 3) and scores["all"]["recall"] == pytest.approx(1 / 3)
    assert scores["all"]["support"] == 3
    assert scores["PER"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 1}
    assert scores["LOC"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert scores["ORG"]["precision"] == 0.0 and scores["ORG"]["support"] == 1
    assert list(scores) == ["all", "LOC", "ORG", "PER"]
    perfect = entity_f1(gold, gold)
    assert all(s["f1"] == 1.0 for s in perfect.values())
    half = entity_f1([["B-PER", "O", "B-LOC"]], [["B-PER", "O", "O"]])["all"]
    assert (half["precision"], half["recall"], half["f1"]) == (1.0, 0.5, pytest.approx(2 / 3))
    with pytest.raises(ValueError, match="same number of tag sequences"):
        entity_f1(gold, predicted[:1])
    with pytest.raises(ValueError, match=r"predicted\[1\] must have as many tags as gold\[1\] \(2\); got 1"):
        entity_f1(gold, [predicted[0], ["O"]])


# ---------------------------------------------------------------------------------------------------- data


def test_test_sentences_share_no_template_and_no_entity_with_training():
    assert not set(TRAIN_TEMPLATES) & set(TEST_TEMPLATES)
    pools = entity_pools()
    for slot in ("PER", "LAST", "LOC", "ORG"):
        assert pools["train"][slot] and pools["test"][slot], slot
        assert not set(pools["train"][slot]) & set(pools["test"][slot]), slot
    train = entity_sentences(2000, "train", rng=0)
    test = entity_sentences(300, "test", rng=1)
    entities = {side: {tuple(tokens[a:b]) for tokens, tags in data for _, a, b in bio_spans(tags)}
                for side, data in (("train", train), ("test", test))}
    assert not entities["train"] & entities["test"]
    assert len(entities["test"]) > 200  # many different names, not a handful repeated


def test_the_data_is_the_same_in_every_process():
    # faker has choices that follow PYTHONHASHSEED or Python's global random; the pools must not
    import hashlib
    import subprocess
    import sys

    code = ("import hashlib, random; random.seed(PLACE); from lstmlib.data.entities import entity_pools, "
            "entity_sentences; print(hashlib.md5(repr((entity_pools(), entity_sentences(300, 'train', rng=0, "
            "random_types=0.4))).encode()).hexdigest())")
    digests = {subprocess.run([sys.executable, "-c", code.replace("PLACE", str(k))], check=True, text=True,
                              capture_output=True, env={**__import__("os").environ, "PYTHONHASHSEED": str(k)}
                              ).stdout for k in (1, 2)}
    here = hashlib.md5(repr((entity_pools(), entity_sentences(300, "train", rng=0, random_types=0.4))).encode())
    assert digests == {here.hexdigest() + "\n"}


def test_sentences_are_aligned_bio_and_reproducible():
    sentences = entity_sentences(200, "train", rng=3)
    assert sentences == entity_sentences(200, "train", rng=3)
    assert sentences != entity_sentences(200, "train", rng=4)
    kinds = set()
    for tokens, tags in sentences:
        assert len(tokens) == len(tags) and all(t in TAGS for t in tags)
        for prev, tag in zip(["O"] + tags, tags):
            assert not tag.startswith("I-") or prev[2:] == tag[2:]  # a valid BIO sequence
        kinds |= {kind for kind, _, _ in bio_spans(tags)}
    assert kinds == {"PER", "LOC", "ORG"}
    words = {w for tokens, _ in sentences for w in tokens}
    assert {"Monday", "March"} & words or {"Tuesday", "May"} & words  # dates appear, tagged O
    with pytest.raises(ValueError, match="side must be one of"):
        entity_sentences(3, "dev")


def test_random_types_take_the_type_away_from_the_frame():
    def types_after(sentences, word):
        # the entity types that follow `word` directly, e.g. "in" -> mostly LOC in the templates as written
        return {tags[k + 1][2:] for tokens, tags in sentences for k, w in enumerate(tokens[:-1])
                if w == word and tags[k + 1].startswith("B-")}

    assert types_after(entity_sentences(500, "test", rng=0), "of") == {"LOC", "ORG"}
    assert types_after(entity_sentences(500, "test", rng=0, random_types=1.0), "of") == {"PER", "LOC", "ORG"}
    with pytest.raises(ValueError, match=r"random_types must be a share in \[0, 1\]; got 2"):
        entity_sentences(3, random_types=2)


def test_news_sentences_parse_and_follow_the_guidelines():
    news = load_news_sentences()
    assert len(news) >= 50
    entities = [(kind, " ".join(tokens[a:b])) for tokens, tags in news for kind, a, b in bio_spans(tags)]
    assert ("LOC", "Berlin") in entities and ("ORG", "Siemens") in entities and ("PER", "Angela Merkel") in entities
    for tokens, tags in news:
        for word, tag in zip(tokens, tags):
            if word in ("Monday", "March", "Spanish", "Italian", "German"):
                assert tag == "O", (word, tokens)
    assert parse_bracketed("[PER Ada Lovelace] met [ORG IBM] .") == (
        ["Ada", "Lovelace", "met", "IBM", "."], ["B-PER", "I-PER", "O", "B-ORG", "O"])
    with pytest.raises(ValueError, match="bracket that is not an entity"):
        parse_bracketed("a [XYZ b] c")


def test_char_vocab_with_an_unknown_character_reads_anything():
    vocab = CharVocab("abc\x00", unknown="\x00")
    assert vocab.encode("abz😀").tolist() == [1, 2, 0, 0]
    with pytest.raises(ValueError, match="must use only the vocabulary's"):
        CharVocab("abc").encode("abz")
    with pytest.raises(ValueError, match="unknown must be one of the vocabulary's characters"):
        CharVocab("abc", unknown="?")


# ---------------------------------------------------------------------------------------------------- models


def test_word_shapes():
    assert [word_shape(w) for w in ["paris", "Paris", "NASA", "2024", ",", "iPhone", "A"]] == [0, 1, 2, 3, 4, 4, 1]


def test_baselines_on_a_hand_example():
    sentences = [["Ada", "Lovelace", "visited", "Paris", "."], ["Paris", "is", "big"]]
    tags = [["B-PER", "I-PER", "O", "B-LOC", "O"], ["B-LOC", "O", "O"]]
    gazetteer = Gazetteer().fit(sentences, tags)
    assert gazetteer.tag([["Yesterday", "Ada", "Lovelace", "left", "Paris"]]) == [
        ["O", "B-PER", "I-PER", "O", "B-LOC"]]
    assert MostFrequentTag().fit(sentences, tags).tag([["Lovelace", "and", "Paris"]]) == [["I-PER", "O", "B-LOC"]]


@pytest.mark.parametrize("bidirectional, crf, chars", [(False, False, False), (True, True, True), (True, False, True)])
def test_neural_tagger_learns_and_returns_one_tag_per_token(bidirectional, crf, chars):
    torch.manual_seed(0)
    data = entity_sentences(64, "train", rng=0)
    tokens, tags = [s for s, _ in data], [t for _, t in data]
    encoder = TokenEncoder.from_sentences(tokens, TAGS)
    model = NERTagger(NERTaggerConfig(len(encoder.words), len(encoder.chars), len(TAGS), word_size=16,
                                      hidden_size=16, char_hidden=8 if chars else 0,
                                      bidirectional=bidirectional, crf=crf))
    batch, target = encoder.encode(tokens), encoder.encode_tags(tags)
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-2)
    first = None
    for _ in range(100):
        optimizer.zero_grad()
        loss = model.loss(batch, target)
        first = first if first is not None else loss.item()
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.5 * first
    model.eval()
    predicted = encoder.decode_tags(model.predict(encoder.encode(tokens)))
    assert [len(p) for p in predicted] == [len(s) for s in tokens]
    assert entity_f1(tags, predicted)["all"]["f1"] > 0.5  # it fits what it saw
    odd = [["Zoë", "ąćęł", "😀", "<unk>", "<pad>"], ["x"]]  # any token, any character
    assert [len(p) for p in encoder.decode_tags(model.predict(encoder.encode(odd)))] == [5, 1]


def test_feature_crf_learns():
    torch.manual_seed(0)
    data = entity_sentences(64, "train", rng=0)
    tokens, tags = [s for s, _ in data], [t for _, t in data]
    encoder = TokenEncoder.from_sentences(tokens, TAGS)
    model = FeatureCRF(len(TAGS), buckets=2**10)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
    for _ in range(30):
        optimizer.zero_grad()
        model.loss(tokens, encoder.encode_tags(tags)).backward()
        optimizer.step()
    predicted = encoder.decode_tags(model.predict(tokens))
    assert entity_f1(tags, predicted)["all"]["f1"] > 0.8


def test_taggers_reject_bad_sentences():
    encoder = TokenEncoder.from_sentences([["a"], ["a"]], TAGS)  # "a" seen twice: in the vocabulary
    with pytest.raises(TypeError, match=r"sentences\[0\] must be a list of str tokens"):
        encoder.encode(["a b c"])
    with pytest.raises(ValueError, match=r"sentences\[1\] must hold at least one token"):
        encoder.encode([["a"], []])
    with pytest.raises(TypeError, match=r"sentences\[0\]\[1\] must be a non-empty str; got 3"):
        Gazetteer().fit([["a"]], [["O"]]).tag([["a", 3]])
    assert np.array_equal(encoder.encode([["a", "b"]])["words"].flatten().numpy(), [4, 1])


# ---------------------------------------------------------------------------------------------------- shipped


@pytest.fixture(scope="module")
def ner():
    from lstmlib import pretrained

    return pretrained.load("ner-en")


def test_shipped_tagger_tags_any_tokens(ner):
    sentences = [["Angela", "Merkel", "visited", "Paris", "on", "Monday", "."], ["Zoë", "😀", "ČEZ", "<unk>", "x" * 80],
                 ["a"]]
    tagged = ner.tag(sentences)
    assert [len(t) for t in tagged] == [7, 5, 1]
    assert all(tag in TAGS for row in tagged for tag in row)
    assert tagged[0][:3] == ["B-PER", "I-PER", "O"] and tagged[0][4:] == ["O", "O", "O"]  # a person; "on Monday ." O
    with pytest.raises(TypeError, match=r"sentences\[0\] must be a list of str tokens"):
        ner.tag(["Angela Merkel visited Paris"])


def test_shipped_tagger_reads_the_news_sentences(ner):
    tokens, gold = map(list, zip(*load_news_sentences()))
    assert entity_f1(gold, ner.tag(tokens))["all"]["f1"] >= 0.6


def test_loading_the_tagger_imports_no_data_module_and_no_faker():
    import subprocess
    import sys

    code = ("import sys; from lstmlib import pretrained; ner = pretrained.load('ner-en'); ner.tag([['Hi']]); "
            "bad = [m for m in sys.modules if m.startswith(('lstmlib.data', 'faker'))]; assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_load_variant_names_the_known_variants():
    from lstmlib.models.ner import load_variant
    from lstmlib.pretrained import load_checkpoint

    with pytest.raises(ValueError, match=r"name must be one of 'feature-crf'.*; got 'gru'"):
        load_variant(load_checkpoint("ner_en.pt"), "gru")
