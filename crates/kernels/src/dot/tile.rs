//! The micro-tile contract shared by every dot kernel: NR weight rows times NC activation rows.

/// One micro-tile: `out[c * out_stride + r] = dot(weight row r, activation row c)` for r < NR, c < NC,
/// where NR and NC are fixed by the kernel instance.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tile {
    /// First weight row.
    pub w: *const u8,
    /// Bytes between weight rows.
    pub w_stride: usize,
    /// First activation row (`BlockQ8`, `BlockQ8K` or f32, per the weight type's `ActFormat`).
    pub a: *const u8,
    /// Bytes between activation rows.
    pub a_stride: usize,
    /// Blocks per row (elements for float weights).
    pub n: usize,
    pub out: *mut f32,
    /// Elements between output rows (the matmul's output row length).
    pub out_stride: usize,
    /// Per activation row `n` contiguous block sums (panel kernels: f32 `d * sum(q)` for types with a
    /// min, i32 `sum(q)` for interleaved Q8_0 panels); null when unused.
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    pub sums: *const f32,
}

/// # Safety
/// Every pointer in the `Tile` must be valid for the kernel's NR x NC shape and `n`, and the kernel's
/// CPU level must be supported.
pub(crate) type TileFn = unsafe fn(&Tile);

/// Largest tile any kernel is instantiated for (panel kernels may take up to `MAX_PANEL_NR` rows).
pub(crate) const MAX_NR: usize = 4;
pub(crate) const MAX_PANEL_NR: usize = 8;
pub(crate) const MAX_NC: usize = 4;

/// Picks the instance of a `fn<const NR, const NC>(&Tile)` kernel for runtime (nr, nc), 1..=4 each.
macro_rules! pick_tile {
    ($f:ident $(::<$($g:tt),*>)?, $nr:expr, $nc:expr) => {{
        let f: $crate::dot::tile::TileFn = match ($nr, $nc) {
            (1, 1) => $f::<$($($g,)*)? 1, 1>,
            (1, 2) => $f::<$($($g,)*)? 1, 2>,
            (1, 3) => $f::<$($($g,)*)? 1, 3>,
            (1, 4) => $f::<$($($g,)*)? 1, 4>,
            (2, 1) => $f::<$($($g,)*)? 2, 1>,
            (2, 2) => $f::<$($($g,)*)? 2, 2>,
            (2, 3) => $f::<$($($g,)*)? 2, 3>,
            (2, 4) => $f::<$($($g,)*)? 2, 4>,
            (3, 1) => $f::<$($($g,)*)? 3, 1>,
            (3, 2) => $f::<$($($g,)*)? 3, 2>,
            (3, 3) => $f::<$($($g,)*)? 3, 3>,
            (3, 4) => $f::<$($($g,)*)? 3, 4>,
            (4, 1) => $f::<$($($g,)*)? 4, 1>,
            (4, 2) => $f::<$($($g,)*)? 4, 2>,
            (4, 3) => $f::<$($($g,)*)? 4, 3>,
            _ => $f::<$($($g,)*)? 4, 4>,
        };
        f
    }};
}
pub(crate) use pick_tile;
