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
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    ty: GgmlType,
    /// Run the VNNI tile variants (the level was checked).
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    vnni: bool,
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
            use super::panel_avx2::{legacy_row_bytes, panel_kind, KBlock, PanelKind};
            let vnni = level.clamp_supported().has_vnni();
            let kind = panel_kind(ty, vnni)?;
            let (row_bytes, nr, nc) = match kind {
                PanelKind::K => (units * std::mem::size_of::<KBlock>(), 1, 4),
                // A group's bytes spread over its rows, so row offsets land on group starts.
                PanelKind::Il8Signed | PanelKind::Il8Min => {
                    use super::panel_il8::{BLOCK_BYTES, GROUP};
                    (units * BLOCK_BYTES / GROUP, GROUP, 4)
                }
                PanelKind::K8 => {
                    use super::panel_k8::{GROUP, SB_BYTES};
                    (units * SB_BYTES / GROUP, GROUP, 4)
                }
                _ => (legacy_row_bytes(units), 3, 4),
            };
            Some(PanelPlan { kind, ty, vnni, row_bytes, nr, nc })
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let _ = (ty, units);
            None
        }
    }

    /// Whether the tiles read the activation block sums `d * sum(q)` (`Tile::sums`, f32).
    pub(crate) fn needs_sums(&self) -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            use super::panel_avx2::PanelKind;
            matches!(self.kind, PanelKind::LegacyMin | PanelKind::Il8Min)
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            false
        }
    }

    /// Whether the tiles read the activation blocks' integer sums `sum(q)` (`Tile::sums`, as i32).
    pub(crate) fn needs_int_sums(&self) -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            self.kind == super::panel_avx2::PanelKind::Il8Signed
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            false
        }
    }

    /// Tile kernel for an (nr, nc) tile over panel rows, nr in 1..=self.nr, nc in 1..=4.
    pub(crate) fn tile_fn(&self, nr: usize, nc: usize) -> TileFn {
        #[cfg(target_arch = "x86_64")]
        {
            super::panel_avx2::tile_fn(self.kind, nr, nc, self.vnni)
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
            use super::panel_avx2::{decode_k_row, decode_legacy_row, KBlock, PanelKind};
            use super::panel_il8::{decode_group, BLOCK_BYTES, GROUP};
            use std::cell::RefCell;
            thread_local! {
                // u64 words: 8-aligned, as the f32 arrays inside legacy panel rows need.
                static LEGACY: RefCell<Vec<u64>> = const { RefCell::new(Vec::new()) };
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
                    let il8 = matches!(self.kind, PanelKind::Il8Signed | PanelKind::Il8Min | PanelKind::K8);
                    let padded = if il8 { n_rows.div_ceil(GROUP) * GROUP } else { n_rows };
                    let words = padded * self.row_bytes / 8;
                    if buf.len() < words {
                        buf.resize(words, 0);
                    }
                    let base = buf.as_mut_ptr() as *mut u8;
                    if il8 {
                        for g in 0..padded / GROUP {
                            let rows = (n_rows - g * GROUP).min(GROUP);
                            let src = src.add(g * GROUP * src_row_bytes);
                            if self.kind == PanelKind::K8 {
                                let at = base.add(g * units * super::panel_k8::SB_BYTES);
                                super::panel_k8::decode_group(self.ty, src, src_row_bytes, rows, units, at);
                            } else {
                                decode_group(self.ty, src, src_row_bytes, rows, units, base.add(g * units * BLOCK_BYTES));
                            }
                        }
                    } else {
                        for r in 0..n_rows {
                            decode_legacy_row(self.ty, src.add(r * src_row_bytes), units, base.add(r * self.row_bytes));
                        }
                    }
                    f(base as *const u8)
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

