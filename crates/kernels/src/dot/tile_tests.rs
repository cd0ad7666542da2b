//! Every SIMD tile shape (NR x NC in 1..=4 each) against the scalar tile, for every weight type and every
//! SIMD level this CPU runs (AVX2 / AVX-512 VNNI on x86-64, NEON / NEON dotprod on aarch64), on row
//! lengths that are not multiples of 256 (or of the vector width for float weights), with padded
//! strides. Integer sums are exact; only the f32 accumulation order may differ.

use super::act::{quantize_q8, quantize_q8k, ActFormat, BlockQ8, BlockQ8K};
use super::tile::Tile;
use super::{scalar_tile_fn, tile_fn};
use crate::cpu::CpuLevel;
use crate::rng::splitmix64;
use crate::types::GgmlType;

const TYPES: [GgmlType; 11] = [
    GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q5_1, GgmlType::Q8_0,
    GgmlType::Q4K, GgmlType::Q5K, GgmlType::Q6K, GgmlType::F32, GgmlType::F16, GgmlType::BF16,
];

struct Rng(u64);

impl Rng {
    fn unit(&mut self) -> f32 {
        (splitmix64(&mut self.0) >> 40) as f32 / (1u64 << 24) as f32
    }
    fn sym(&mut self) -> f32 {
        2.0 * self.unit() - 1.0
    }
}

fn f16_bytes(v: f32) -> [u8; 2] {
    half::f16::from_f32(v).to_bits().to_le_bytes()
}

/// `rows` random rows of `k` values: random quant bits with small finite f16 scales, floats in (-1, 1).
fn weights(ty: GgmlType, rows: usize, k: usize, rng: &mut Rng) -> Vec<u8> {
    let mut v = vec![0u8; rows * ty.row_bytes(k).unwrap()];
    for b in v.iter_mut() {
        *b = splitmix64(&mut rng.0) as u8;
    }
    let (bs, fields): (usize, &[usize]) = match ty {
        GgmlType::Q4_0 | GgmlType::Q5_0 | GgmlType::Q8_0 => (ty.type_size(), &[0]),
        GgmlType::Q4_1 | GgmlType::Q5_1 | GgmlType::Q4K | GgmlType::Q5K => (ty.type_size(), &[0, 2]),
        GgmlType::Q6K => (ty.type_size(), &[208]),
        GgmlType::F16 => (2, &[0]),
        GgmlType::BF16 => {
            for c in v.chunks_exact_mut(2) {
                c.copy_from_slice(&half::bf16::from_f32(rng.sym()).to_bits().to_le_bytes());
            }
            return v;
        }
        _ => {
            for c in v.chunks_exact_mut(4) {
                c.copy_from_slice(&rng.sym().to_le_bytes());
            }
            return v;
        }
    };
    let scale = if ty == GgmlType::F16 { 1.0 } else { 4e-3 };
    for blk in v.chunks_exact_mut(bs) {
        for &off in fields {
            blk[off..off + 2].copy_from_slice(&f16_bytes(scale * rng.sym()));
        }
    }
    v
}

/// One tile of `level` vs the scalar tile: `nr` weight rows x `nc` activation rows of `k` values, with
/// padded weight / activation / output strides; cells outside the tile must stay untouched.
fn check_tile(level: CpuLevel, ty: GgmlType, k: usize, nr: usize, nc: usize, rng: &mut Rng) {
    check_tile_vs(level, None, ty, k, nr, nc, rng)
}

/// `check_tile`, and with `same` also that level's tile gives bit-identical outputs (kernel variants
/// that differ only in how they form the exact integer sums).
fn check_tile_vs(level: CpuLevel, same: Option<CpuLevel>, ty: GgmlType, k: usize, nr: usize, nc: usize, rng: &mut Rng) {
    let fmt = ActFormat::for_weight(ty).unwrap();
    let rb = ty.row_bytes(k).unwrap();
    let w_stride = rb + ty.type_size();
    let w = weights(ty, nr + 1, k + ty.block_size(), rng);
    let x: Vec<f32> = (0..(nc + 1) * k).map(|i| rng.sym() * if i % 97 == 0 { 20.0 } else { 1.0 }).collect();
    // Activation rows in the weight's partner format, one spare unit between rows.
    let units = k / fmt.block_len();
    let mut q8 = vec![BlockQ8::ZERO; (nc + 1) * (units + 1)];
    let mut q8k = vec![BlockQ8K::ZERO; (nc + 1) * (units + 1)];
    let mut xf = vec![0f32; (nc + 1) * (units + 1)];
    for c in 0..nc {
        let xr = &x[c * k..(c + 1) * k];
        let at = c * (units + 1);
        match fmt {
            ActFormat::Q8 => quantize_q8(CpuLevel::Scalar, xr, &mut q8[at..at + units]),
            ActFormat::Q8K => quantize_q8k(CpuLevel::Scalar, xr, &mut q8k[at..at + units]),
            ActFormat::F32 => xf[at..at + units].copy_from_slice(xr),
        }
    }
    let (a, a_stride) = match fmt {
        ActFormat::Q8 => (q8.as_ptr() as *const u8, (units + 1) * std::mem::size_of::<BlockQ8>()),
        ActFormat::Q8K => (q8k.as_ptr() as *const u8, (units + 1) * std::mem::size_of::<BlockQ8K>()),
        ActFormat::F32 => (xf.as_ptr() as *const u8, (units + 1) * 4),
    };
    let out_stride = nr + 3;
    let run = |f: super::tile::TileFn| {
        let mut out = vec![f32::NAN; nc * out_stride];
        let t = Tile { w: w.as_ptr(), w_stride, a, a_stride, n: units, out: out.as_mut_ptr(), out_stride, sums: std::ptr::null() };
        // SAFETY: every row, activation row and output cell of the nr x nc tile is inside the buffers
        // above; `tile_fn` returns only kernels the CPU supports.
        unsafe { f(&t) };
        out
    };
    let f = tile_fn(level, ty, nr, nc).unwrap();
    let s = scalar_tile_fn(ty, nr, nc).unwrap();
    if level.has_avx2() || level.has_neon() {
        assert_ne!(f as usize, s as usize, "{level} {} {nr}x{nc}: scalar kernel selected", ty.name());
    }
    let (got, want) = (run(f), run(s));
    if let Some(other) = same {
        let o = run(tile_fn(other, ty, nr, nc).unwrap());
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&got), bits(&o), "{level} vs {other} {} k={k} tile {nr}x{nc}: not bit-identical", ty.name());
    }
    for c in 0..nc {
        // Magnitude of the terms of this activation row against the largest weight row: tolerance scale.
        let mut mag = 0f32;
        for r in 0..nr {
            let mut wf = vec![0f32; k];
            assert!(super::decode::dequantize_row(ty, &w[r * w_stride..r * w_stride + rb], &mut wf));
            let m: f32 = wf.iter().zip(&x[c * k..]).map(|(w, x)| (w * x).abs()).sum();
            mag = mag.max(m);
        }
        for i in 0..out_stride {
            let (g, e) = (got[c * out_stride + i], want[c * out_stride + i]);
            if i < nr {
                let tol = 4e-6 * mag + 1e-30;
                assert!((g - e).abs() <= tol, "{level} {} k={k} tile {nr}x{nc} [{i}, {c}]: {g} vs scalar {e} (tol {tol:e})", ty.name());
            } else {
                assert!(g.is_nan(), "{level} {} tile {nr}x{nc} wrote outside the tile at [{i}, {c}]", ty.name());
            }
        }
    }
}

#[test]
fn every_simd_tile_shape_matches_scalar() {
    let levels: Vec<CpuLevel> = CpuLevel::all().iter().copied().filter(|l| *l != CpuLevel::Scalar && l.is_supported()).collect();
    #[cfg(target_arch = "aarch64")]
    assert!(levels.contains(&CpuLevel::Neon), "aarch64 without the NEON level: the NEON kernels would go untested");
    eprintln!("SIMD levels under test: {levels:?}");
    let mut rng = Rng(7);
    for &level in &levels {
        for ty in TYPES {
            let ks: &[usize] = match ActFormat::for_weight(ty).unwrap() {
                ActFormat::Q8 => &[32, 96, 640],
                ActFormat::Q8K => &[256, 768],
                ActFormat::F32 => &[1, 7, 96, 643],
            };
            for &k in ks {
                for nr in 1..=4 {
                    for nc in 1..=4 {
                        check_tile(level, ty, k, nr, nc, &mut rng);
                    }
                }
            }
        }
    }
}

/// `sdot` and the widening-multiply path compute the same integers, so NEON and NEON dotprod tiles agree
/// bit for bit. (On a CPU without dotprod both levels clamp to the plain kernels; qemu's default CPU has it.)
#[cfg(target_arch = "aarch64")]
#[test]
fn neon_dotprod_tiles_match_neon_bit_for_bit() {
    let mut rng = Rng(8);
    for ty in TYPES {
        let k = if ActFormat::for_weight(ty) == Some(ActFormat::Q8K) { 512 } else { 160 };
        for nr in 1..=4 {
            for nc in 1..=4 {
                check_tile_vs(CpuLevel::NeonDot, Some(CpuLevel::Neon), ty, k, nr, nc, &mut rng);
            }
        }
    }
}
