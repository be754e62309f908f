"""A tiny seeded CharLSTM shared by the language-model, decoding and metrics tests."""

from lstmlib.models import CharLSTM
from lstmlib.train import seed_everything

V = 6  # vocabulary size of the tiny model


def small_lstm(**kwargs) -> CharLSTM:
    """A CharLSTM over ``V`` ids with 4-dim embeddings and 8 units, the same weights on every call."""
    seed_everything(0)
    return CharLSTM(V, embed_size=4, hidden_size=8, **kwargs)
