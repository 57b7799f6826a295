"""Per-cell kernels of the wind-erosion plugin (RWEQ; erosion.regions.wind).

- :func:`weather_sums`: one pass over a wind record (time, cells), the sum of
  ``U (U − U_t)² · w`` over the observations with ``U > U_t`` and the count of valid
  observations, per cell (``w`` the time-varying part of ρ·SW·SD, or 1);
- :func:`rweq`: Q_max, s and the soil loss (actual and potential, COG = 1) in one fused pass,
  float64 arithmetic, float32 output. Inputs are 1-D with size n or 1 (a scalar is read with
  stride 0, never copied). Returns a bit mask: bit k set when input k lies outside its valid
  range somewhere (NaN is nodata, never out of range).

The formulas are documented in ``erosion/regions/wind.py`` and ``docs/methods/region-wind.md``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

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
def _loss(p, z, lnp):
    """(Q_max, s, SL in kg m-2) for the product P = WF·EF·SCF·K'·COG ≥ 0."""
    if p > 0.0:
        t = math.exp(B_S * lnp)          # P^0.3711
        s = A_S / t
        r = z / s
        q = A_Q * p
        return q, s, 2.0 * z / (s * s) * q * math.exp(-r * r)
    return 0.0, math.inf, 0.0


@njit(cache=True, nogil=True)
def rweq(wf, ef, scf, kr, cog, z, lo, hi, q_out, s_out, sl_out, pot_out):
    """Fused RWEQ over cells lo..hi; soil losses written in t hm-2 (10 × kg m-2)."""
    n = q_out.size
    sw, se, ss, sk, sc, sz = (wf.size > 1, ef.size > 1, scf.size > 1, kr.size > 1, cog.size > 1, z.size > 1)
    flags = 0
    for i in range(lo, hi if hi < n else n):
        a = np.float64(wf[i if sw else 0])
        b = np.float64(ef[i if se else 0])
        c = np.float64(scf[i if ss else 0])
        d = np.float64(kr[i if sk else 0])
        g = np.float64(cog[i if sc else 0])
        x = np.float64(z[i if sz else 0])
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
        p = a * b * c * d
        if p != p or g != g or x != x:
            q_out[i] = np.nan
            s_out[i] = np.nan
            sl_out[i] = np.nan
            pot_out[i] = np.nan
            continue
        lnp = math.log(p) if p > 0.0 else 0.0
        pa = p * g
        lna = lnp + math.log(g) if pa > 0.0 else 0.0
        q, s, sl = _loss(pa, x, lna)
        q_out[i] = q
        s_out[i] = s
        sl_out[i] = 10.0 * sl
        pot_out[i] = 10.0 * _loss(p, x, lnp)[2]
    return flags
