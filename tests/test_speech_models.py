"""lstmlib.models.speech: the CTC speech models, their padding behaviour, and the recogniser wrapper."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lstmlib.audio import speech_features
from lstmlib.models.speech import (
    FrameMLP,
    SpeechCTCConfig,
    SpeechLSTM,
    SpeechRecognizer,
    build_speech_model,
    digits_to_labels,
    labels_to_digits,
    pad_frames,
)
from lstmlib.reference.ctc import ctc_backward, ctc_forward

SMALL = {arch: SpeechCTCConfig(arch, n_mels=6, hidden_size=8, num_layers=2, context=2) for arch in
         ("bilstm", "lstm", "mlp")}


def frames(lengths, n_mels=6, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((length, n_mels)).astype(np.float32) for length in lengths]


def test_digits_and_labels_map_back_and_forth():
    assert digits_to_labels("407") == [5, 1, 8] and labels_to_digits([5, 1, 8]) == "407"
    with pytest.raises(ValueError, match=r"labels must be digit classes 1..10 \(0 is the blank\); got \[0, 3\]"):
        labels_to_digits([0, 3])
    with pytest.raises(ValueError, match=r"digits must be a non-empty str of the characters 0-9; got '4 7'"):
        digits_to_labels("4 7")


@pytest.mark.parametrize("arch", ["bilstm", "lstm", "mlp"])
def test_models_give_log_probabilities_and_ignore_the_padding(arch):
    torch.manual_seed(0)
    model = build_speech_model(SMALL[arch]).eval()
    assert isinstance(model, FrameMLP if arch == "mlp" else SpeechLSTM)
    utterances = frames([9, 4, 7])
    features, lengths = pad_frames(utterances)
    assert features.shape == (9, 3, 6) and lengths.tolist() == [9, 4, 7]
    with torch.no_grad():
        log_probs = model(features, lengths)
        assert log_probs.shape == (9, 3, 11)
        assert torch.allclose(log_probs.exp().sum(-1), torch.ones(9, 3), atol=1e-5)
        for b, one in enumerate(utterances):  # each utterance alone gives the same outputs as in the batch
            alone = model(torch.from_numpy(one)[:, None], torch.tensor([len(one)]))
            assert torch.allclose(alone[:, 0], log_probs[:len(one), b], atol=1e-5)


def test_only_the_bidirectional_model_looks_ahead_and_the_mlp_only_within_its_window():
    torch.manual_seed(0)
    x = frames([12])[0]
    changed = x.copy()
    changed[9] += 5.0  # change frame 9 only
    for arch, first_affected in (("bilstm", 0), ("lstm", 9), ("mlp", 7)):  # the MLP reads t-2 .. t+2
        model = build_speech_model(SMALL[arch]).eval()
        with torch.no_grad():
            a = model(torch.from_numpy(x)[:, None], torch.tensor([12]))[:, 0]
            b = model(torch.from_numpy(changed)[:, None], torch.tensor([12]))[:, 0]
        differs = (a - b).abs().amax(-1) > 1e-6
        assert differs.nonzero()[0].item() == first_affected, arch
        if arch == "mlp":
            assert differs.nonzero()[-1].item() == 11 and not differs[:7].any()


def test_torchs_ctc_loss_and_ours_give_the_models_logits_the_same_gradient():
    torch.manual_seed(1)
    model = build_speech_model(SMALL["bilstm"]).double()
    features, lengths = pad_frames(frames([10, 7]))
    targets, target_lengths = torch.tensor([[3, 3, 5], [2, 9, 0]]), torch.tensor([3, 2])
    readout = model.readout
    hidden = {}
    readout.register_forward_hook(lambda module, inputs, output: hidden.__setitem__("logits", output))
    log_probs = model(features.double(), lengths)
    torch.nn.functional.ctc_loss(log_probs, targets, lengths, target_lengths, reduction="sum").backward()
    theirs = readout.weight.grad.clone()
    # ours: the reference backward gives dloss/dlog_probs; autograd carries it through the log-softmax and readout
    readout.weight.grad = None
    log_probs = model(features.double(), lengths)
    _, cache = ctc_forward(log_probs, targets, lengths, target_lengths)
    log_probs.backward(torch.from_numpy(ctc_backward(cache, np.ones(2))))
    assert torch.allclose(readout.weight.grad, theirs, atol=1e-10)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(architecture="gru"), ValueError, r"architecture must be one of 'bilstm', 'lstm', 'mlp'; got 'gru'"),
    (dict(hidden_size=0), ValueError, r"hidden_size must be a positive int \(>= 1\); got 0"),
])
def test_config_rejects_bad_values(kwargs, error, match):
    with pytest.raises(error, match=match):
        SpeechCTCConfig(**kwargs)


def test_forward_rejects_bad_inputs():
    model = build_speech_model(SMALL["lstm"])
    with pytest.raises(ValueError, match=r"features must have n_mels=6 along axis 2 of \(T, B, n_mels\); got shape "
                                         r"\(5, 1, 4\)"):
        model(torch.zeros(5, 1, 4), torch.tensor([5]))
    with pytest.raises(ValueError, match=r"lengths must lie in \[1, T=5\]; got \[6\]"):
        model(torch.zeros(5, 1, 6), torch.tensor([6]))
    with pytest.raises(ValueError, match=r"lengths must be int64 of shape \(B,\) = \(1,\); got torch.int32"):
        model(torch.zeros(5, 1, 6), torch.tensor([5], dtype=torch.int32))
    with pytest.raises(ValueError, match=r"config.architecture must be 'mlp' for a FrameMLP; got 'lstm'"):
        FrameMLP(SMALL["lstm"])


def test_the_recognizer_round_trips_through_a_checkpoint_dict_and_reads_any_sample_rate():
    torch.manual_seed(0)
    model = build_speech_model(SpeechCTCConfig("bilstm", hidden_size=8, num_layers=1))
    checkpoint = {"config": model.config.to_dict(),
                  "state_dict": {k: v.half() for k, v in model.state_dict().items()}, "training": {"steps": 1}}
    recognizer = SpeechRecognizer.from_checkpoint(checkpoint)
    assert recognizer.record["training"] == {"steps": 1} and not recognizer.model.training
    rng = np.random.default_rng(0)
    wave = rng.standard_normal(16000).astype(np.float32) * 0.1
    log_probs = recognizer.log_probs([wave, wave[:8000]], 16000)
    assert [lp.shape for lp in log_probs] == [(101, 11), (51, 11)]
    assert np.allclose(log_probs[0], recognizer.log_probs_of_features([speech_features(wave, 16000)])[0])
    texts = recognizer.transcribe([wave], 16000) + recognizer.transcribe([wave], 16000, beam_width=4)
    assert all(isinstance(t, str) and (t == "" or t.isdigit()) for t in texts)
    with pytest.raises(TypeError, match=r"waveforms must be a non-empty list of 1-D NumPy float arrays; got ndarray"):
        recognizer.transcribe(wave, 16000)
    with pytest.raises(TypeError, match=r"model must be a SpeechLSTM or FrameMLP; got Linear"):
        SpeechRecognizer(torch.nn.Linear(2, 2))
