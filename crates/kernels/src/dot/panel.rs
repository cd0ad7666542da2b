//! Arch-neutral front of the pre-decoded panel GEMM (`panel_avx2.rs`): whether a product uses panels,
//! and a per-thread panel buffer that only grows.

use crate::cpu::CpuLevel;
use crate::types::GgmlType;

use super::tile::TileFn;

/// Below this many activation rows, decoding a panel costs more than it saves.
pub(crate) const PANEL_MIN_M: usize = 8;

/// How a batched product of one weight type runs on decoded panels.
#[derive(Clone, Copy)]
pub(crate) struct PanelPlan {
    #[cfg(target_arch = "x86_64")]
    kind: super::panel_avx2::PanelKind,
    ty: GgmlType,
    /// Panel bytes per weight row.
    pub row_bytes: usize,
    pub nr: usize,
    pub nc: usize,
}

impl PanelPlan {
    /// The plan for `ty` with `units` blocks per row at `level`, if panels apply.
    pub(crate) fn new(level: CpuLevel, ty: GgmlType, units: usize, m: usize) -> Option<PanelPlan> {
        if m < PANEL_MIN_M || !level.clamp_supported().has_avx2() {
            return None;
        }
        #[cfg(target_arch = "x86_64")]
        {
            use super::panel_avx2::{panel_kind, KBlock, LegacyBlock, PanelKind};
            let kind = panel_kind(ty)?;
            let (block, nr, nc) = match kind {
                PanelKind::K => (std::mem::size_of::<KBlock>(), 2, 2),
                _ => (std::mem::size_of::<LegacyBlock>(), 2, 4),
            };
            let (nr, nc) = tune_override().unwrap_or((nr, nc));
            Some(PanelPlan { kind, ty, row_bytes: units * block, nr, nc })
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let _ = (ty, units);
            None
        }
    }

    /// Tile kernel for an (nr, nc) tile over panel rows, both in 1..=4.
    pub(crate) fn tile_fn(&self, nr: usize, nc: usize) -> TileFn {
        #[cfg(target_arch = "x86_64")]
        {
            super::panel_avx2::tile_fn(self.kind, nr, nc)
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let _ = (nr, nc);
            unreachable!("panels are never planned off x86")
        }
    }

    /// Decodes `n_rows` weight rows at `src` (`src_row_bytes` apart, `units` blocks each) into this
    /// thread's panel buffer and passes its start to `f` (rows `self.row_bytes` apart).
    ///
    /// # Safety
    /// `src` must hold `n_rows` valid rows of the plan's type; the plan's level must be supported.
    pub(crate) unsafe fn with_decoded<R>(
        &self,
        src: *const u8,
        src_row_bytes: usize,
        n_rows: usize,
        units: usize,
        f: impl FnOnce(*const u8) -> R,
    ) -> R {
        #[cfg(target_arch = "x86_64")]
        {
            use super::panel_avx2::{decode_k_row, decode_legacy_row, KBlock, LegacyBlock, PanelKind};
            use std::cell::RefCell;
            thread_local! {
                static LEGACY: RefCell<Vec<LegacyBlock>> = const { RefCell::new(Vec::new()) };
                static K: RefCell<Vec<KBlock>> = const { RefCell::new(Vec::new()) };
            }
            let n = n_rows * units;
            match self.kind {
                PanelKind::K => K.with(|cell| {
                    let mut fresh = Vec::new();
                    let mut guard = cell.try_borrow_mut();
                    let buf = match guard.as_deref_mut() {
                        Ok(b) => b,
                        Err(_) => &mut fresh,
                    };
                    if buf.len() < n {
                        buf.resize(n, KBlock::ZERO);
                    }
                    for r in 0..n_rows {
                        decode_k_row(self.ty, src.add(r * src_row_bytes), &mut buf[r * units..(r + 1) * units]);
                    }
                    f(buf.as_ptr() as *const u8)
                }),
                _ => LEGACY.with(|cell| {
                    let mut fresh = Vec::new();
                    let mut guard = cell.try_borrow_mut();
                    let buf = match guard.as_deref_mut() {
                        Ok(b) => b,
                        Err(_) => &mut fresh,
                    };
                    if buf.len() < n {
                        buf.resize(n, LegacyBlock::ZERO);
                    }
                    for r in 0..n_rows {
                        decode_legacy_row(self.ty, src.add(r * src_row_bytes), &mut buf[r * units..(r + 1) * units]);
                    }
                    f(buf.as_ptr() as *const u8)
                }),
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let _ = (src, src_row_bytes, n_rows, units);
            f(std::ptr::null())
        }
    }
}

// TEMP tuning hook
fn tune_override() -> Option<(usize, usize)> {
    let v = std::env::var("AGORA_TILE").ok()?;
    let (a, b) = v.split_once('x')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}
