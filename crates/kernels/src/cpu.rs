//! Runtime CPU feature detection: the one `CpuLevel` every kernel dispatches on.
//!
//! Dispatch is always at run time (`is_x86_feature_detected!`), never by compile-time target features,
//! so one binary runs on any x86-64 (or aarch64) and picks the fastest kernels the machine has.
//! `AGORA_CPU=scalar|avx2|avx512|avx512vnni` (x86-64) or `scalar|neon|neondot` (aarch64) can lower the
//! level (for testing and A/B timing), never raise it.

use std::sync::OnceLock;

/// An instruction-set level. Kernels exist for `Scalar`, `Avx2`, `Avx512` (512-bit tiles for the
/// 32-value block and float types, AVX2 ones for the K-quants) and `Avx512Vnni` (the AVX2 kernels with
/// their int8 dot products as `vpdpbusd` / `vpdpwssd`, and 8-row interleaved panels). On aarch64,
/// `Neon` runs the NEON kernels and `NeonDot` the same kernels with their int8 dot products as `sdot`
/// (the `dotprod` extension).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CpuLevel {
    Scalar,
    /// AVX2 + FMA + F16C.
    Avx2,
    /// AVX-512 F + BW + VL on top of `Avx2`.
    Avx512,
    /// AVX-512 VL + VNNI on top of `Avx512`.
    Avx512Vnni,
    /// Base AdvSIMD, present on every aarch64 CPU.
    #[cfg(target_arch = "aarch64")]
    Neon,
    /// `Neon` plus the `dotprod` extension (`sdot`).
    #[cfg(target_arch = "aarch64")]
    NeonDot,
}

impl CpuLevel {
    /// Every level that can exist on this architecture, lowest first.
    pub fn all() -> &'static [CpuLevel] {
        #[cfg(target_arch = "aarch64")]
        {
            &[CpuLevel::Scalar, CpuLevel::Neon, CpuLevel::NeonDot]
        }
        #[cfg(not(target_arch = "aarch64"))]
        {
            &[CpuLevel::Scalar, CpuLevel::Avx2, CpuLevel::Avx512, CpuLevel::Avx512Vnni]
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            CpuLevel::Scalar => "scalar",
            CpuLevel::Avx2 => "avx2",
            CpuLevel::Avx512 => "avx512",
            CpuLevel::Avx512Vnni => "avx512vnni",
            #[cfg(target_arch = "aarch64")]
            CpuLevel::Neon => "neon",
            #[cfg(target_arch = "aarch64")]
            CpuLevel::NeonDot => "neondot",
        }
    }

    pub fn from_name(s: &str) -> Option<CpuLevel> {
        CpuLevel::all().iter().copied().find(|l| l.name().eq_ignore_ascii_case(s.trim()))
    }

    /// Rank within this architecture's chain (`all()` order).
    fn rank(self) -> usize {
        CpuLevel::all().iter().position(|l| *l == self).unwrap_or(0)
    }

    /// Whether this machine can run kernels of this level.
    pub fn is_supported(self) -> bool {
        self == CpuLevel::Scalar || (CpuLevel::all().contains(&self) && self.rank() <= detected().rank())
    }

    /// The highest supported level not above `self`: what a request for `self` actually runs.
    /// Kernels call this before entering `#[target_feature]` code, so no request can reach an
    /// instruction the CPU lacks.
    pub fn clamp_supported(self) -> CpuLevel {
        if self.is_supported() {
            self
        } else {
            detected()
        }
    }

    /// True when AVX2+FMA+F16C kernels may run at this level.
    #[inline]
    pub fn has_avx2(self) -> bool {
        matches!(self, CpuLevel::Avx2 | CpuLevel::Avx512 | CpuLevel::Avx512Vnni)
    }

    /// True when the VNNI variants of the int8 kernels may run at this level.
    #[inline]
    pub fn has_vnni(self) -> bool {
        self == CpuLevel::Avx512Vnni
    }

    /// True when the NEON kernels may run at this level (aarch64 only).
    #[inline]
    pub fn has_neon(self) -> bool {
        #[cfg(target_arch = "aarch64")]
        return matches!(self, CpuLevel::Neon | CpuLevel::NeonDot);
        #[cfg(not(target_arch = "aarch64"))]
        false
    }

    /// True when the `sdot` variants of the NEON int8 kernels may run at this level.
    #[inline]
    pub fn has_dotprod(self) -> bool {
        #[cfg(target_arch = "aarch64")]
        return self == CpuLevel::NeonDot;
        #[cfg(not(target_arch = "aarch64"))]
        false
    }
}

impl std::fmt::Display for CpuLevel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The best level this CPU supports (computed once).
pub fn detected() -> CpuLevel {
    static DETECTED: OnceLock<CpuLevel> = OnceLock::new();
    *DETECTED.get_or_init(detect)
}

#[cfg(target_arch = "x86_64")]
fn detect() -> CpuLevel {
    let avx2 = is_x86_feature_detected!("avx2")
        && is_x86_feature_detected!("fma")
        && is_x86_feature_detected!("f16c");
    if !avx2 {
        return CpuLevel::Scalar;
    }
    if is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512bw") && is_x86_feature_detected!("avx512vl") {
        if is_x86_feature_detected!("avx512vnni") {
            return CpuLevel::Avx512Vnni;
        }
        return CpuLevel::Avx512;
    }
    CpuLevel::Avx2
}

#[cfg(target_arch = "aarch64")]
fn detect() -> CpuLevel {
    if std::arch::is_aarch64_feature_detected!("neon") {
        if std::arch::is_aarch64_feature_detected!("dotprod") {
            return CpuLevel::NeonDot;
        }
        CpuLevel::Neon
    } else {
        CpuLevel::Scalar
    }
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
fn detect() -> CpuLevel {
    CpuLevel::Scalar
}

/// The level kernels use by default: `detected()`, lowered by `AGORA_CPU` when set to a known lower level.
/// Read once; an unknown or higher value is ignored.
pub fn active() -> CpuLevel {
    static ACTIVE: OnceLock<CpuLevel> = OnceLock::new();
    *ACTIVE.get_or_init(|| {
        let requested = std::env::var("AGORA_CPU").ok().and_then(|v| CpuLevel::from_name(&v));
        resolve(detected(), requested)
    })
}

/// `requested` if it is not above `detected`, else `detected`.
fn resolve(detected: CpuLevel, requested: Option<CpuLevel>) -> CpuLevel {
    match requested {
        Some(r) if r.rank() <= detected.rank() => r,
        _ => detected,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(not(target_arch = "aarch64"))]
    #[test]
    fn env_override_only_lowers() {
        assert_eq!(resolve(CpuLevel::Avx2, Some(CpuLevel::Scalar)), CpuLevel::Scalar);
        assert_eq!(resolve(CpuLevel::Scalar, Some(CpuLevel::Avx2)), CpuLevel::Scalar);
        assert_eq!(resolve(CpuLevel::Avx2, None), CpuLevel::Avx2);
        assert_eq!(CpuLevel::from_name(" AVX2 "), Some(CpuLevel::Avx2));
        assert_eq!(CpuLevel::from_name("sse9"), None);
    }

    #[cfg(target_arch = "aarch64")]
    #[test]
    fn env_override_only_lowers() {
        assert_eq!(resolve(CpuLevel::NeonDot, Some(CpuLevel::Neon)), CpuLevel::Neon);
        assert_eq!(resolve(CpuLevel::NeonDot, Some(CpuLevel::Scalar)), CpuLevel::Scalar);
        assert_eq!(resolve(CpuLevel::Neon, Some(CpuLevel::NeonDot)), CpuLevel::Neon);
        assert_eq!(resolve(CpuLevel::Scalar, Some(CpuLevel::Neon)), CpuLevel::Scalar);
        assert_eq!(CpuLevel::from_name(" NEON "), Some(CpuLevel::Neon));
        assert_eq!(CpuLevel::from_name("neondot"), Some(CpuLevel::NeonDot));
        // x86 names are unknown here (so `AGORA_CPU=avx2` is ignored, not misread).
        assert_eq!(CpuLevel::from_name("avx2"), None);
        // Every aarch64 CPU has AdvSIMD.
        assert!(detected().has_neon(), "aarch64 CPU without NEON detected: {}", detected());
    }

    /// `AGORA_CPU` as this process got it: a known level not above the CPU's is what `active()` runs
    /// (scripts/test-aarch64.sh runs the tests again with `AGORA_CPU=neon`).
    #[test]
    fn active_honours_agora_cpu() {
        let want = match std::env::var("AGORA_CPU").ok().and_then(|v| CpuLevel::from_name(&v)) {
            Some(l) if l.is_supported() => l,
            _ => detected(),
        };
        assert_eq!(active(), want, "AGORA_CPU={:?}", std::env::var("AGORA_CPU"));
    }

    #[test]
    fn clamp_never_exceeds_detected() {
        for &l in CpuLevel::all() {
            let c = l.clamp_supported();
            assert!(c.is_supported(), "{l} clamped to unsupported {c}");
            assert!(c.rank() <= detected().rank());
        }
        assert!(active().is_supported());
    }
}
