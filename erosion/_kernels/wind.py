"""Per-cell kernels of the wind-erosion plugin (RWEQ; erosion.regions.wind).

- :func:`weather_sums`: one pass over a wind record (time, cells), the sum of
  ``U (U − U_t)² · w`` over the observations with ``U > U_t`` and the count of valid
  observations, per cell (``w`` the time-varying part of ρ·SW·SD, or 1);
- :func:`rweq`: Q_max, s and the soil loss (actual and potential, COG = 1) in one pass over
  cache-sized blocks (16 Ki cells) of NumPy ufuncs with ``out=`` (NumPy's SIMD ``exp``/``log``
  do the transcendental work; numba has no vectorised ``exp`` without SVML), split over
  threads, with a numba range check of each block while it is in cache. Inputs are 1-D with
  size n or 1 (a scalar is never broadcast to a full array). The check returns a bit mask:
  bit k set when input k lies outside its valid range (NaN is nodata, never out of range).

The formulas are documented in ``erosion/regions/wind.py`` and ``docs/methods/region-wind.md``.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numba import njit

from .soil import compute_dtype

BLOCK = 16384

#: Fryrear et al. (1998): Q_max = A_Q · P,  s = A_S · P^(−B_S)
A_Q = 109.8
A_S = 150.71
B_S = 0.3711


@njit(cache=True, nogil=True)
def weather_sums(u, w, has_w, threshold, acc, count):
    """acc[i] = Σ_t U(U−U_t)²·w over U > U_t; count[i] = valid observations (U and w finite)."""
    nt, n = u.shape
    for i in range(n):
        s = 0.0
        c = 0
        for t in range(nt):
            x = np.float64(u[t, i])
            f = np.float64(w[t, i]) if has_w else 1.0
            if x != x or f != f:
                continue
            c += 1
            if x > threshold:
                d = x - threshold
                s += x * d * d * f
        acc[i] = s
        count[i] = c


@njit(cache=True, nogil=True)
def check_rweq(wf, ef, scf, kr, cog, z, n):
    """Bit k set when input k (WF, EF, SCF, K', COG, z) lies outside its valid range in some cell."""
    sw, se, ss, sk, sc, sz = (wf.size > 1, ef.size > 1, scf.size > 1, kr.size > 1, cog.size > 1, z.size > 1)
    flags = 0
    for i in range(n):
        a = wf[i if sw else 0]
        b = ef[i if se else 0]
        c = scf[i if ss else 0]
        d = kr[i if sk else 0]
        g = cog[i if sc else 0]
        x = z[i if sz else 0]
        if a < 0.0:
            flags |= 1
        if b < 0.0 or b > 1.0:
            flags |= 2
        if c < 0.0 or c > 1.0:
            flags |= 4
        if d < 0.0 or d > 1.0:
            flags |= 8
        if g < 0.0 or g > 1.0:
            flags |= 16
        if x < 0.0:
            flags |= 32
    return flags


def _loss_block(p, z, s_out, sl_out, w):
    """s and SL (t hm-2 = 10 kg m-2) from P, in place; ``w`` scratch. P = 0 gives s = inf, SL = 0."""
    np.log(p, out=w)
    w *= B_S
    np.exp(w, out=w)                      # t = P^0.3711
    np.divide(A_S, w, out=s_out)          # s = 150.71 / t
    w *= 1.0 / A_S                        # 1/s
    np.multiply(w, w, out=sl_out)         # 1/s^2
    w *= z
    np.square(w, out=w)
    np.negative(w, out=w)
    np.exp(w, out=w)                      # exp[-(z/s)^2]
    sl_out *= w
    sl_out *= p
    sl_out *= z
    sl_out *= 2.0 * A_Q * 10.0            # 2 z Q_max / s^2 exp[...], Q_max = 109.8 P, x 10 to t hm-2


def _slice(arrays, outs, ct, lo, hi):
    """RWEQ over cells lo..hi in cache-sized blocks; returns the flags of the range check."""
    size = min(BLOCK, hi - lo)
    full = [a.size == 1 for a in arrays]
    const = [a.reshape(1).astype(ct) if f else None for a, f in zip(arrays, full, strict=True)]
    buf = [np.empty(size, ct) for _ in arrays]
    scratch = [np.empty(size, ct) for _ in range(6)]
    flags = 0
    with np.errstate(all="ignore"):
        for s in range(lo, hi, BLOCK):
            e = min(s + BLOCK, hi)
            k = e - s
            blk = []
            for j, a in enumerate(arrays):
                if full[j]:
                    blk.append(const[j])
                elif a.dtype == ct:
                    blk.append(a[s:e])
                else:
                    np.copyto(buf[j][:k], a[s:e], casting="unsafe")
                    blk.append(buf[j][:k])
            wf, ef, scf, kr, cog, z = blk
            flags |= check_rweq(wf, ef, scf, kr, cog, z, k)
            p, pa, q, sa, sla, w = (x[:k] for x in scratch)
            np.multiply(wf, ef, out=p)
            p *= scf
            p *= kr                               # P without vegetation (potential)
            np.multiply(p, cog, out=pa)           # P
            np.multiply(pa, A_Q, out=q)
            _loss_block(pa, z, sa, sla, w)
            outs[0][s:e] = q
            outs[1][s:e] = sa
            outs[2][s:e] = sla
            _loss_block(p, z, sa, sla, w)
            outs[3][s:e] = sla
    return flags


def rweq(arrays, dtype, threads: int = 1):
    """Q_max, s, SL and potential SL (1-D ``dtype`` arrays of the broadcast size) and the check flags.

    ``arrays``: WF, EF, SCF, K', COG, z as 1-D arrays of size n or 1. Arithmetic in float32 when
    every array input is float32 (as NumPy would on such inputs), else float64.
    """
    n = max(a.size for a in arrays)
    ct = compute_dtype(arrays)
    outs = [np.empty(n, dtype) for _ in range(4)]
    if n == 0:
        return outs, 0
    if threads <= 1 or n < 2 * BLOCK * threads:
        return outs, _slice(arrays, outs, ct, 0, n)
    edges = np.linspace(0, n, threads + 1).astype(np.int64)
    with ThreadPoolExecutor(threads) as pool:
        flags = 0
        for f in pool.map(lambda k: _slice(arrays, outs, ct, int(edges[k]), int(edges[k + 1])), range(threads)):
            flags |= f
    return outs, flags
