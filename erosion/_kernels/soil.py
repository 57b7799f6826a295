"""Per-cell kernels of the K (soil erodibility) factor: the formulas and the input checks.

Plain-array functions (``erosion.factors.soil`` broadcasts, dispatches and writes messages):

- the formulas are NumPy ufunc sequences evaluated block by block (16 Ki cells) into small
  scratch buffers with ``out=``: the blocks stay in cache and NumPy's SIMD ``exp``/``log`` do the
  transcendental work (numba has no vectorised ``exp`` without SVML, so a fused numba loop is
  slower here); powers are written as ``exp(a·log x)`` for the same reason;
- the checks are one numba pass per block over the same (cache-hot) inputs, returning a bit set
  of what they found, so that cells are counted and a message written only when something is
  wrong. With ``mark`` (``data_validation="warn"``) cells with an input out of range or an
  unknown code are set to NaN.

Arithmetic is float32 when every array input is float32 (or a small integer code raster), as the
plain NumPy expression on such inputs would be, and float64 otherwise (scalars included); K is
written as float32. NaN in any input gives NaN. The formulas are documented in
``erosion/factors/soil.py`` and ``docs/methods/soil.md``.
"""

from __future__ import annotations

import functools
import itertools
import math
import operator
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numba import njit

#: bit i (i < 8): input i lies outside its valid range in some cell
SUM_BIT = 8        # texture fractions do not sum to 100 within the tolerance
PERCENT_BIT = 9    # some texture value exceeds 1 (evidence that the input is in percent)
CODE_BIT = 10      # unknown structure code
CODE2_BIT = 11     # unknown permeability code
OVER_BIT = 12      # silt + very fine sand + clay above 100
VALID_BIT = 13     # at least one cell has every input finite (and, marking, valid)

BLOCK = 16384
_TINY = 1e-30      # silt / (clay + silt + tiny): 0 where silt = clay = 0 (the limit along silt = 0)


# ----------------------------------------------------------------------------------------------
# checks (numba)


@njit(cache=True, nogil=True)
def _bad_pct(x):
    return not (0.0 <= x <= 100.0)


@njit(cache=True, nogil=True)
def _bad_code(x, top):
    return not (1.0 <= x <= top) or x != math.floor(x)


@njit(cache=True, nogil=True)
def check_texture(sand, silt, clay, extra, has_extra, tol, mark, out):
    """Flags of sand, silt, clay (bits 0-2), an optional 4th percent input (bit 3), the sum and scale."""
    flags = 0
    for i in range(out.size):
        sa, si, cl = sand[i], silt[i], clay[i]
        c = extra[i] if has_extra else 0.0
        if sa != sa or si != si or cl != cl or c != c:
            continue
        f = 0
        if _bad_pct(sa):
            f |= 1
        if _bad_pct(si):
            f |= 2
        if _bad_pct(cl):
            f |= 4
        if has_extra and _bad_pct(c):
            f |= 8
        if sa > 1.0 or si > 1.0 or cl > 1.0:
            f |= 1 << PERCENT_BIT
        if abs(sa + si + cl - 100.0) > tol:
            f |= 1 << SUM_BIT
        if mark and (f & 15):
            out[i] = np.nan
        else:
            f |= 1 << VALID_BIT
        flags |= f
    return flags


@njit(cache=True, nogil=True)
def check_nomograph(silt_vfs, clay, om, structure, permeability, tol, mark, out):
    """Flags of the nomograph inputs: ranges (bits 0-2), scale, silt_vfs + clay, the two codes."""
    flags = 0
    for i in range(out.size):
        sv, cl, o, s, p = silt_vfs[i], clay[i], om[i], structure[i], permeability[i]
        if sv != sv or cl != cl or o != o or s != s or p != p:
            continue
        f = 0
        if _bad_pct(sv):
            f |= 1
        if _bad_pct(cl):
            f |= 2
        if _bad_pct(o):
            f |= 4
        if sv > 1.0 or cl > 1.0:
            f |= 1 << PERCENT_BIT
        if sv + cl > 100.0 + tol:
            f |= 1 << OVER_BIT
        if _bad_code(s, 4.0):
            f |= 1 << CODE_BIT
        if _bad_code(p, 6.0):
            f |= 1 << CODE2_BIT
        if mark and (f & (7 | 1 << CODE_BIT | 1 << CODE2_BIT)):
            out[i] = np.nan
        else:
            f |= 1 << VALID_BIT
        flags |= f
    return flags


def check_epic(sand, silt, clay, organic_carbon, tol, mark, out):
    return check_texture(sand, silt, clay, organic_carbon, True, tol, mark, out)


def check_gmd(sand, silt, clay, tol, mark, out):
    return check_texture(sand, silt, clay, sand, False, tol, mark, out)


# ----------------------------------------------------------------------------------------------
# formulas (NumPy, per block, in place)


def epic_block(sa, si, cl, c, a, b, d, *, si_factor, corr_a, corr_b, correct, minimum):
    """EPIC K (Williams 1995) × si_factor, then a + b·K (Zhang et al. 2007) if ``correct``, ≥ minimum."""
    # f_csand = 0.2 + 0.3 exp[-0.0256 SAN (1 - SIL/100)]
    np.multiply(si, -0.01, out=a)
    a += 1.0
    a *= sa
    a *= -0.0256
    np.exp(a, out=a)
    a *= 0.3
    a += 0.2
    # f_cl-si = [SIL / (CLA + SIL)]^0.3
    np.add(cl, si, out=b)
    b += _TINY
    np.divide(si, b, out=b)
    np.log(b, out=b)
    b *= 0.3
    np.exp(b, out=b)
    a *= b
    # f_orgc = 1 - 0.25 C / [C + exp(3.72 - 2.95 C)]
    np.multiply(c, -2.95, out=b)
    b += 3.72
    np.exp(b, out=b)
    b += c
    np.divide(c, b, out=b)
    b *= -0.25
    b += 1.0
    a *= b
    # f_hisand = 1 - 0.7 SN1 / [SN1 + exp(-5.51 + 22.9 SN1)], SN1 = 1 - SAN/100
    np.multiply(sa, -0.01, out=d)
    d += 1.0
    np.multiply(d, 22.9, out=b)
    b += -5.51
    np.exp(b, out=b)
    b += d
    np.divide(d, b, out=b)
    b *= -0.7
    b += 1.0
    a *= b
    a *= si_factor
    if correct:
        a *= corr_b
        a += corr_a
    np.maximum(a, minimum, out=a)


def gmd_block(sa, si, cl, a, b, *, w_sand, w_silt, w_clay, minimum):
    """AH703 eq. 3-5: 0.0034 + 0.0405 exp{-½[(log10 Dg + 1.659)/0.7101]²}, log10 Dg = Σ w_i f_i."""
    np.multiply(sa, w_sand, out=a)
    np.multiply(si, w_silt, out=b)
    a += b
    np.multiply(cl, w_clay, out=b)
    a += b
    a += 1.659
    a *= 1.0 / 0.7101
    a *= a
    a *= -0.5
    np.exp(a, out=a)
    a *= 0.0405
    a += 0.0034
    np.maximum(a, minimum, out=a)


def nomograph_block(sv, cl, om, s, p, a, b, *, om_cap, si_factor, minimum):
    """Wischmeier et al. (1971): si_factor·[2.1e-4 M^1.14 (12 − min(OM, cap)) + 3.25(s−2) + 2.5(p−3)]/100."""
    np.subtract(100.0, cl, out=a)
    a *= sv                       # M = (silt + vfs)(100 - clay)
    np.log(a, out=a)
    a *= 1.14
    np.exp(a, out=a)              # M^1.14 (0 where M = 0)
    np.minimum(om, om_cap, out=b)
    np.subtract(12.0, b, out=b)
    a *= b
    a *= 2.1e-4
    np.subtract(s, 2.0, out=b)
    b *= 3.25
    a += b
    np.subtract(p, 3.0, out=b)
    b *= 2.5
    a += b
    a *= si_factor / 100.0
    np.maximum(a, minimum, out=a)


def normalise_block(sa, si, cl, tol):
    """Rescale sand, silt, clay (in place, scratch copies) to 100 % where they sum within ``tol``."""
    total = sa + si + cl
    with np.errstate(invalid="ignore", divide="ignore"):
        f = np.where((np.abs(total - 100.0) <= tol) & (total > 0), 100.0 / total, 1.0).astype(sa.dtype)
    sa *= f
    si *= f
    cl *= f


# ----------------------------------------------------------------------------------------------
# driver


def compute_dtype(arrays) -> np.dtype:
    """float32 when every array input (size > 1) is float32 or a ≤ 16-bit integer; float64 otherwise."""
    arr = [a for a in arrays if a.size > 1]
    if arr and all(a.dtype == np.float32 or (a.dtype.kind in "iub" and a.dtype.itemsize <= 2) for a in arr):
        return np.dtype(np.float32)
    return np.dtype(np.float64)


def _slice_flags(formula, check, n_scratch, arrays, out, params, check_params, normalise, ct, lo, hi):
    """Evaluate ``formula`` and ``check`` over out[lo:hi] in blocks; return the OR of the flags."""
    m_in = len(arrays)
    size = min(BLOCK, hi - lo)
    inp = [np.empty(size, ct) for _ in range(m_in)]
    scratch = [np.empty(size, ct) for _ in range(n_scratch)]
    full = [a.size == 1 for a in arrays]
    for j, a in enumerate(arrays):
        if full[j]:
            inp[j][:] = a.reshape(-1)[0]
    flags = 0
    with np.errstate(all="ignore"):
        for s in range(lo, hi, BLOCK):
            e = min(s + BLOCK, hi)
            k = e - s
            blk = [inp[j][:k] if full[j] else _cast(arrays[j][s:e], inp[j][:k], ct) for j in range(m_in)]
            o = out[s:e]
            acc = o if ct == np.float32 else scratch[0][:k]
            work = [x[:k] for x in (scratch if ct == np.float32 else scratch[1:])]
            if normalise:
                tex = [np.array(x, dtype=ct) for x in blk[:3]]
                normalise_block(*tex, check_params[0])
                formula(*tex, *blk[3:], acc, *work, **params)
            else:
                formula(*blk, acc, *work, **params)
            if acc is not o:
                o[:] = acc
            flags |= int(check(*blk, *check_params, o))
    return flags


def _cast(src, dst, ct):
    if src.dtype == ct and src.flags.c_contiguous:
        return src
    np.copyto(dst, src, casting="unsafe")
    return dst


def evaluate(formula, check, n_scratch: int, arrays, params: dict, check_params: tuple, *,
             normalise: bool = False, threads: int = 1) -> tuple[np.ndarray, int]:
    """K (float32, the broadcast shape) and the flags of the checks, split over ``threads``."""
    arrays = [np.asarray(a) for a in arrays]
    shape = np.broadcast_shapes(*(a.shape for a in arrays))
    ct = compute_dtype(arrays)
    n = int(np.prod(shape))
    flat = []
    for a in arrays:
        if a.size == 1:
            flat.append(a.reshape(1))
        elif a.shape == shape and a.flags.c_contiguous:
            flat.append(a.reshape(-1))
        else:
            flat.append(np.ascontiguousarray(np.broadcast_to(a, shape)).reshape(-1))
    out = np.empty(shape, dtype=np.float32)
    o = out.reshape(-1)
    if n == 0:
        return out, 0
    n_scr = n_scratch + (0 if ct == np.float32 else 1)
    run = functools.partial(_slice_flags, formula, check, n_scr, flat, o, params, check_params, normalise, ct)
    if threads <= 1 or n < 2 * BLOCK * threads:
        return out, run(0, n)
    edges = np.linspace(0, n, threads + 1).astype(np.int64)
    with ThreadPoolExecutor(threads) as pool:
        flags = pool.map(lambda ab: run(int(ab[0]), int(ab[1])), itertools.pairwise(edges))
        return out, functools.reduce(operator.or_, flags, 0)
