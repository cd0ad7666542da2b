//! Small AVX2 building blocks shared by the x86 kernels.
//!
//! Every function here is `#[target_feature(enable = "avx2,fma,f16c")]` and `unsafe`: callers must have
//! checked the CPU (via `CpuLevel::clamp_supported`) before entering AVX2 code.

use std::arch::x86_64::*;

/// Horizontal sum of 8 floats.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn hsum_ps(v: __m256) -> f32 {
    let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    let s = _mm_add_ss(s, _mm_movehdup_ps(s));
    _mm_cvtss_f32(s)
}

/// Horizontal sum of 8 i32.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn hsum_epi32(v: __m256i) -> i32 {
    let s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    let s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
    let s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0b10_11_00_01));
    _mm_cvtsi128_si32(s)
}

/// Horizontal max of 8 floats.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn hmax_ps(v: __m256) -> f32 {
    let s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    let s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    let s = _mm_max_ss(s, _mm_movehdup_ps(s));
    _mm_cvtss_f32(s)
}

/// The little-endian f16 pair at `p`, `p + 2` as f32 lanes 0 and 1. Reads 4 bytes.
///
/// The volatile 32-bit load is deliberate: when only one lane is used, LLVM narrows a plain load to
/// `vpinsrw`, which merges into whatever register it picks, often a loop accumulator, and so chains
/// every block of a dot product onto the previous one (it cost Q5_0 GEMV a third of its speed).
/// A volatile load cannot be narrowed; `vmovd` from a GPR writes the whole register.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn load_f16x2(p: *const u8) -> __m128 {
    let bits = std::ptr::read_volatile(p as *const [u8; 4]);
    let bits = u32::from_le_bytes(bits);
    _mm_cvtph_ps(_mm_cvtsi32_si128(bits as i32))
}

/// The f16 at `p` as f32. Reads 4 bytes (`p .. p + 4` must be readable).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn load_f16(p: *const u8) -> f32 {
    _mm_cvtss_f32(load_f16x2(p))
}

/// The f16 at `p` as f32, reading `p - 2 .. p + 2` (for a field at the end of a buffer).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn load_f16_tail(p: *const u8) -> f32 {
    _mm_cvtss_f32(_mm_movehdup_ps(load_f16x2(p.sub(2))))
}

/// 32 unsigned nibbles of 16 packed bytes: low nibbles to lanes 0..16, high nibbles to lanes 16..32.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn nibbles_32(p: *const u8) -> __m256i {
    // Both halves from one broadcast load, the upper one shifted by 4 (one op fewer than
    // shift + insert).
    let b = _mm256_broadcastsi128_si256(_mm_loadu_si128(p as *const __m128i));
    let v = _mm256_srlv_epi32(b, _mm256_setr_epi32(0, 0, 0, 0, 4, 4, 4, 4));
    _mm256_and_si256(v, _mm256_set1_epi8(0x0F))
}

/// Spreads 32 bits (little-endian at `p`) to 32 bytes: 0xFF where the bit is set, else 0.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn bits_to_bytes_32(p: *const u8) -> __m256i {
    let bits = std::ptr::read_unaligned(p as *const u32);
    // Byte i of the result looks at byte i/8 of `bits`...
    let spread = _mm256_shuffle_epi8(
        _mm256_set1_epi32(bits as i32),
        _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0),
    );
    // ...and keeps only bit i%8: OR every other bit on, then test for all-ones.
    let others = _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe_u64 as i64);
    _mm256_cmpeq_epi8(_mm256_or_si256(spread, others), _mm256_set1_epi64x(-1))
}

/// `Σ w·a` over each i32 lane's 4 adjacent bytes, w unsigned and a signed: one `vpdpbusd` with VNNI,
/// else `maddubs` + `madd` (exact when no pair of products passes i16, true for every operand range our
/// kernels feed it). Both give the same integers, so the kernel variants agree bit for bit.
///
/// Not `#[target_feature]` on purpose: it is always inlined into kernels that are, and the `VNNI`
/// branch is taken only inside kernels compiled with the VNNI features
/// (`avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni`).
#[inline(always)]
pub unsafe fn dot_u8i8<const VNNI: bool>(w: __m256i, a: __m256i) -> __m256i {
    if VNNI {
        _mm256_dpbusd_epi32(_mm256_setzero_si256(), w, a)
    } else {
        _mm256_madd_epi16(_mm256_maddubs_epi16(w, a), _mm256_set1_epi16(1))
    }
}

/// `acc + madd(p, s)`: i16 pairs multiplied and summed into i32 lanes (`vpdpwssd` with VNNI).
#[inline(always)]
pub unsafe fn dpwssd<const VNNI: bool>(acc: __m256i, p: __m256i, s: __m256i) -> __m256i {
    if VNNI {
        _mm256_dpwssd_epi32(acc, p, s)
    } else {
        _mm256_add_epi32(acc, _mm256_madd_epi16(p, s))
    }
}
