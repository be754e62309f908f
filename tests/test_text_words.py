"""The word pipeline: tokenize, WordVocab, pad_batch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lstmlib.masking import lengths_to_mask
from lstmlib.text import SPECIAL_TOKENS, WordVocab, pad_batch, tokenize


def test_tokenize_keeps_inner_apostrophes_and_hyphens_and_splits_punctuation():
    assert tokenize("It's a well-made film, isn't it?") == ["It's", "a", "well-made", "film", ",", "isn't", "it", "?"]
    assert tokenize("Quatre-vingt-dix-neuf", lower=True, split_hyphens=True) == [
        "quatre", "-", "vingt", "-", "dix", "-", "neuf"]
    assert tokenize("  ") == []
    assert tokenize("7. Dezember 2021") == ["7", ".", "Dezember", "2021"]


def test_vocab_orders_by_count_then_alphabet_and_keeps_the_specials_first():
    vocab = WordVocab.from_tokens([["b", "a", "c"], ["a", "b", "a", "d"]], min_count=1)
    assert vocab.tokens == [*SPECIAL_TOKENS, "a", "b", "c", "d"]
    assert (vocab.pad_id, vocab.unk_id, vocab.bos_id, vocab.eos_id) == (0, 1, 2, 3)
    assert WordVocab.from_tokens([["b", "a", "c"], ["a", "b"]], min_count=2).tokens[4:] == ["a", "b"]
    assert len(WordVocab.from_tokens([["b", "a", "c"], ["a", "b"]], max_size=5)) == 5


def test_encode_decode_round_trip_and_unknown_words():
    vocab = WordVocab(["the", "film", "works"])
    ids = vocab.encode(["the", "film", "flops"], add_bos=True, add_eos=True)
    assert ids.dtype == np.int64 and ids.tolist() == [2, 4, 5, 1, 3]
    assert vocab.decode(ids) == ["the", "film", "<unk>"]
    assert vocab.decode([4, 3, 6]) == ["the"]  # stops at <eos>
    assert vocab.decode(torch.tensor([2, 4, 0]), strip_special=False) == ["<bos>", "the", "<pad>"]
    with pytest.raises(ValueError, match=r"tokens\[2\] = 'flops' is not in the vocabulary of 7 tokens"):
        vocab.encode(["the", "film", "flops"], unknown="error")
    with pytest.raises(TypeError, match="tokens must be a list of str tokens"):
        vocab.encode("the film")
    with pytest.raises(ValueError, match=r"ids must hold ids in \[0, 6\]"):
        vocab.decode([7])


def test_pad_batch_pads_time_major_and_its_lengths_give_the_mask():
    ids, lengths = pad_batch([np.array([5, 6, 7]), [8], torch.tensor([9, 10])])
    assert ids.shape == (3, 3) and ids.dtype == torch.int64
    assert ids[:, 0].tolist() == [5, 6, 7] and ids[:, 1].tolist() == [8, 0, 0] and ids[:, 2].tolist() == [9, 10, 0]
    assert lengths.tolist() == [3, 1, 2]
    assert torch.equal(lengths_to_mask(lengths), ids != 0)
    batch_first, _ = pad_batch([[1, 2], [3]], pad_id=9, batch_first=True)
    assert batch_first.tolist() == [[1, 2], [3, 9]]
    with pytest.raises(ValueError, match=r"sequences\[1\] must hold at least 1 token"):
        pad_batch([[1], []])
    with pytest.raises(ValueError, match="sequences must hold at least one sequence"):
        pad_batch([])
