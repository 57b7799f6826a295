"""Per-cell kernels of the wind-erosion plugin (RWEQ; erosion.regions.wind).

- :func:`weather_sums`: one pass over a wind record (time, cells), the sum of
  ``U (U − U_t)² · w`` over the observations with ``U > U_t`` and the count of valid
  observations, per cell (``w`` the time-varying part of ρ·SW·SD, or 1);
- :func:`rweq`: Q_max, s and the soil loss (actual and potential, COG = 1) in one fused pass
  per block of 16 Ki cells, split over threads, with a range check of the block while it is in
  cache (bit k set when input k lies outside its valid range; NaN is nodata, never out of
  range). Inputs are 1-D with size n or 1 (a scalar fills one block buffer, never a full
  array). ``exp`` and ``log`` are written out (:func:`vexp`, :func:`vlog`: exact range
  reduction and series) so that LLVM vectorises the loop: numba's ``math.exp`` is a scalar
  libm call without SVML, and NumPy's SIMD ufuncs need a pass over memory per operation.
  Arithmetic is float32 (8 lanes, relative error ~1e-6) when every array input is float32, as
  the NumPy expression on such inputs would be, and float64 (relative error ~1e-15) otherwise.

The formulas are documented in ``erosion/regions/wind.py`` and ``docs/methods/region-wind.md``.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

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


# ----------------------------------------------------------------------------------------------
# exp and log that LLVM can vectorise (numba's math.exp/log are scalar libm calls without SVML):
# exact range reductions and Taylor/atanh series, float64, relative error ~1e-15.

@intrinsic
def _bits(typingctx, x):
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))
    return types.int64(types.float64), codegen


@intrinsic
def _double(typingctx, x):
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())
    return types.float64(types.int64), codegen


_LN2_HI = 6.93147180369123816490e-01   # ln 2 split in two (fdlibm): n·LN2_HI is exact for |n| < 2^11
_LN2_LO = 1.90821492927058770002e-10
_INV_LN2 = 1.44269504088896338700e+00
_ROUND = 6755399441055744.0            # 1.5·2^52: adding it rounds to an integer held in the low bits
_TWO52 = 4503599627370496.0
_SQRT2 = 1.4142135623730951


@njit(inline="always", error_model="numpy")
def vexp(x):
    """e^x: x = n ln2 + r, |r| ≤ ln2/2, e^r by its Taylor series to r^12 (error < 1e-15), 2^n from bits."""
    xc = x if x > -745.0 else -745.0
    xc = xc if xc < 709.0 else 709.0
    k = xc * _INV_LN2 + _ROUND
    nf = k - _ROUND
    r = (xc - nf * _LN2_HI) - nf * _LN2_LO
    e = 1.0 + r * (1.0 + r * (1.0 / 2 + r * (1.0 / 6 + r * (1.0 / 24 + r * (1.0 / 120 + r * (1.0 / 720 + r * (
        1.0 / 5040 + r * (1.0 / 40320 + r * (1.0 / 362880 + r * (1.0 / 3628800 + r * (1.0 / 39916800 + r * (
            1.0 / 479001600))))))))))))
    n = _bits(k) - _bits(_ROUND)
    h = n >> 1                      # 2^n as 2^h · 2^(n−h): subnormal results down to 2^−1074
    out = e * _double((h + 1023) << 52) * _double((n - h + 1023) << 52)
    return out if x == x else x


@njit(inline="always", error_model="numpy")
def vlog(x):
    """ln x for finite x > 0 (normal): x = 2^e·m, m in [√½, √2), ln m = 2 atanh((m−1)/(m+1)) to s^21."""
    b = _bits(x)
    e = _double(0x4330000000000000 | ((b >> 52) & 0x7FF)) - _TWO52 - 1023.0
    m = _double((b & 0x000FFFFFFFFFFFFF) | 0x3FF0000000000000)
    big = m > _SQRT2
    m = m * 0.5 if big else m
    e = e + 1.0 if big else e
    s = (m - 1.0) / (m + 1.0)
    q = s * s
    series = s * (2.0 + q * (2.0 / 3 + q * (2.0 / 5 + q * (2.0 / 7 + q * (2.0 / 9 + q * (2.0 / 11 + q * (
        2.0 / 13 + q * (2.0 / 15 + q * (2.0 / 17 + q * (2.0 / 19 + q * (2.0 / 21)))))))))))
    return e * _LN2_HI + (series + e * _LN2_LO)


@njit(inline="always", error_model="numpy")
def _power_terms(p, z):
    """(s, SL in t hm-2) of P ≥ 0 at distance z; P = 0 (or subnormal) gives s = inf, SL = 0; NaN stays NaN."""
    t = vexp(B_S * vlog(p if p > 1e-300 else 1.0))       # P^0.3711
    inv = t * (1.0 / A_S)                                 # 1/s
    u = z * inv
    sl = (2.0 * A_Q * 10.0) * z * inv * inv * p * vexp(-(u * u))
    zero = p <= 1e-300
    s = math.inf if zero else A_S / t
    sl = 0.0 if zero else sl
    return (s if p == p else p), (sl if p == p else p)


@njit(cache=True, nogil=True, error_model="numpy")
def rweq_block(wf, ef, scf, kr, cog, z, q_out, s_out, sl_out, pot_out):
    """Fused RWEQ over one block (all inputs contiguous, same length); float64 arithmetic."""
    for i in range(q_out.size):
        p = np.float64(wf[i]) * np.float64(ef[i]) * np.float64(scf[i]) * np.float64(kr[i])
        pa = p * np.float64(cog[i])
        x = np.float64(z[i])
        q_out[i] = A_Q * pa
        s, sl = _power_terms(pa, x)
        s_out[i] = s
        sl_out[i] = sl
        pot_out[i] = _power_terms(p, x)[1]


# float32 versions, for float32 inputs (8 lanes; relative error of exp and log ~1e-7, the scale of
# float32 output): Cephes' two-part ln 2, Taylor series of e^r to r^8, atanh series to s^13.

@intrinsic
def _bits32(typingctx, x):
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(32))
    return types.int32(types.float32), codegen


@intrinsic
def _single(typingctx, x):
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.FloatType())
    return types.float32(types.int32), codegen


_F, _I = np.float32, np.int32
_F_LN2_HI, _F_LN2_LO, _F_INV_LN2 = _F(0.693359375), _F(-2.12194440e-4), _F(1.4426950408889634)
_F_ROUND, _F_ROUND_BITS = _F(12582912.0), _I(0x4B400000)      # 1.5·2^23 and its bits
_F_LO, _F_HI, _F_SQRT2 = _F(-87.3), _F(88.0), _F(1.41421356)
_F0, _F1, _FHALF, _F127, _F_TWO23 = _F(0.0), _F(1.0), _F(0.5), _F(127.0), _F(8388608.0)
_E2, _E3, _E4, _E5, _E6, _E7, _E8 = (_F(1.0 / math.factorial(i)) for i in range(2, 9))
_L0, _L1, _L2, _L3, _L4, _L5, _L6 = (_F(2.0 / (2 * i + 1)) for i in range(7))
_I127, _I23, _IMANT, _IONE, _IFF, _IEXP = _I(127), _I(23), _I(0x7FFFFF), _I(0x3F800000), _I(0xFF), _I(0x4B000000)
_F_TINY, _F_AQ, _F_AS, _F_BS = _F(1e-37), _F(A_Q), _F(A_S), _F(B_S)
_F_INV_AS, _F_SL, _F_INF = _F(1.0 / A_S), _F(2.0 * A_Q * 10.0), _F(np.inf)


@njit(inline="always", error_model="numpy")
def vexp32(x):
    """e^x in float32; 0 below −87.3."""
    xc = x if x > _F_LO else _F_LO
    xc = xc if xc < _F_HI else _F_HI
    k = xc * _F_INV_LN2 + _F_ROUND
    nf = k - _F_ROUND
    r = (xc - nf * _F_LN2_HI) - nf * _F_LN2_LO
    e = _F1 + r * (_F1 + r * (_E2 + r * (_E3 + r * (_E4 + r * (_E5 + r * (_E6 + r * (_E7 + r * _E8)))))))
    out = e * _single(((_bits32(k) - _F_ROUND_BITS) + _I127) << _I23)
    out = out if x > _F_LO else _F0
    return out if x == x else x


@njit(inline="always", error_model="numpy")
def vlog32(x):
    """ln x in float32 for finite normal x > 0."""
    b = _bits32(x)
    e = _single(_IEXP | ((b >> _I23) & _IFF)) - _F_TWO23 - _F127
    m = _single((b & _IMANT) | _IONE)
    big = m > _F_SQRT2
    m = m * _FHALF if big else m
    e = e + _F1 if big else e
    s = (m - _F1) / (m + _F1)
    q = s * s
    series = s * (_L0 + q * (_L1 + q * (_L2 + q * (_L3 + q * (_L4 + q * (_L5 + q * _L6))))))
    return e * _F_LN2_HI + (series + e * _F_LN2_LO)


@njit(inline="always", error_model="numpy")
def _power_terms32(p, z):
    t = vexp32(_F_BS * vlog32(p if p > _F_TINY else _F1))
    inv = t * _F_INV_AS
    u = z * inv
    sl = _F_SL * z * inv * inv * p * vexp32(-(u * u))
    zero = p <= _F_TINY
    s = _F_INF if zero else _F_AS / t
    sl = _F0 if zero else sl
    return (s if p == p else p), (sl if p == p else p)


@njit(cache=True, nogil=True, error_model="numpy")
def rweq_block32(wf, ef, scf, kr, cog, z, q_out, s_out, sl_out, pot_out):
    """:func:`rweq_block` in float32 arithmetic (all inputs float32), as NumPy computes on float32."""
    for i in range(q_out.size):
        p = wf[i] * ef[i] * scf[i] * kr[i]
        pa = p * cog[i]
        x = z[i]
        q_out[i] = _F_AQ * pa
        s, sl = _power_terms32(pa, x)
        s_out[i] = s
        sl_out[i] = sl
        pot_out[i] = _power_terms32(p, x)[1]


@njit(cache=True, nogil=True, error_model="numpy")
def check_rweq(wf, ef, scf, kr, cog, z):
    """Bit k set when input k (WF, EF, SCF, K', COG, z) lies outside its valid range in some cell."""
    flags = 0
    for i in range(wf.size):
        a, b, c, d, g, x = wf[i], ef[i], scf[i], kr[i], cog[i], z[i]
        flags |= (1 if a < 0.0 else 0) | (2 if (b < 0.0) | (b > 1.0) else 0) | (4 if (c < 0.0) | (c > 1.0) else 0) \
            | (8 if (d < 0.0) | (d > 1.0) else 0) | (16 if (g < 0.0) | (g > 1.0) else 0) | (32 if x < 0.0 else 0)
    return flags


def _slice(arrays, outs, ct, lo, hi):
    """RWEQ over cells lo..hi in blocks of BLOCK cells; returns the flags of the range check."""
    size = min(BLOCK, hi - lo)
    const = [np.full(size, a.reshape(-1)[0], dtype=ct) if a.size == 1 else None for a in arrays]
    kernel = rweq_block32 if ct == np.float32 else rweq_block
    flags = 0
    for s in range(lo, hi, BLOCK):
        e = min(s + BLOCK, hi)
        k = e - s
        blk = [c[:k] if c is not None else a[s:e] for a, c in zip(arrays, const, strict=True)]
        flags |= check_rweq(*blk)
        kernel(*blk, *(o[s:e] for o in outs))
    return flags


def rweq(arrays, dtype, threads: int = 1):
    """Q_max, s, SL and potential SL (1-D ``dtype`` arrays of the broadcast size) and the check flags.

    ``arrays``: WF, EF, SCF, K', COG, z as contiguous 1-D arrays of size n or 1. Arithmetic in
    float32 when every array input is float32 (as the NumPy expression on such inputs would
    be; relative error ~1e-6), else float64 (inputs converted per block).
    """
    n = max(a.size for a in arrays)
    arr = [a for a in arrays if a.size > 1]
    ct = np.dtype(np.float32) if arr and all(a.dtype == np.float32 for a in arr) else np.dtype(np.float64)
    if ct == np.float64:
        arrays = [a if a.dtype == np.float64 else a.astype(np.float64) for a in arrays]
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
